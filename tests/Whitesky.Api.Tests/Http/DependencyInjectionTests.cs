using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using Whitesky.Api.Apis;
using Whitesky.Api.Tests.Peers;

namespace Whitesky.Api.Tests.Http;

/// <summary><c>AddWhiteskyApi</c> binds <c>Whitesky:*</c>, validates it, and the resolved clients call the configured endpoint.</summary>
public sealed class DependencyInjectionTests : IAsyncLifetime
{
    private ScriptedHttpServer _server = null!;

    public async Task InitializeAsync() => _server = await ScriptedHttpServer.StartAsync();

    public async Task DisposeAsync() => await _server.DisposeAsync();

    [Fact]
    public async Task Options_bind_from_the_whitesky_configuration_section()
    {
        var jwt = TestJwt.Create(DateTimeOffset.UtcNow.AddHours(1));
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["Whitesky:BaseUrl"] = _server.ApiUrl.ToString(),
            ["Whitesky:Jwt"] = jwt,
            ["Whitesky:IamUrl"] = _server.IamUrl.ToString(),
            ["Whitesky:CustomerId"] = "acme",
            ["Whitesky:CloudspaceId"] = "cs-42",
            ["Whitesky:Location"] = "be-gen-1",
            ["Whitesky:AttemptTimeout"] = "00:00:05",
            ["Whitesky:MaxRetries"] = "1",
            ["Whitesky:RetryBaseDelay"] = "00:00:00.005",
        }).Build();
        var services = new ServiceCollection().AddWhiteskyApi(configuration);
        await using var provider = services.BuildServiceProvider();
        _server.AnswerJson(503, "{}");

        var options = provider.GetRequiredService<IOptions<WhiteskyClientOptions>>().Value;
        Assert.Equal(TimeSpan.FromSeconds(5), options.AttemptTimeout);
        Assert.Equal(_server.IamUrl, options.IamUrl);
        var client = provider.GetRequiredService<WhiteskyClient>();
        Assert.Equal(("acme", "cs-42", "be-gen-1"), (client.CustomerId, client.CloudspaceId, client.Location));

        await Assert.ThrowsAsync<WhiteskyApiException>(() => client.ListVirtualMachinesAsync());
        Assert.Equal(2, _server.Requests.Count);
        Assert.All(_server.Requests, r => Assert.Equal("/api/1/customers/acme/cloudspaces/cs-42/vms", r.Path));
        Assert.All(_server.Requests, r => Assert.Equal("Bearer " + jwt, r.Authorization));
        Assert.Same(client.Disks, client.Disks);
        Assert.NotNull(provider.GetRequiredService<IDnsApi>());
    }

    [Fact]
    public async Task A_missing_base_url_fails_when_the_client_is_resolved_and_says_what_is_missing()
    {
        var services = new ServiceCollection().AddWhiteskyApi(new ConfigurationBuilder().Build());
        await using var provider = services.BuildServiceProvider();

        var e = Assert.ThrowsAny<Exception>(() => provider.GetRequiredService<WhiteskyClient>());
        Assert.Contains("Whitesky:BaseUrl", e.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task With_context_switches_customer_cloudspace_and_location_for_later_calls()
    {
        _server.AnswerJson(200, """{"result": []}""");
        var (client, services) = ClientFactory.Create(_server);
        await using var _ = services;

        await client.WithContext(customerId: "other", location: "nl-ams-1").ListDisksAsync();
        await client.WithContext(cloudspaceId: "cs-9").ListDnsRecordsAsync(cloudspaceOnly: true);

        Assert.Equal("/api/1/customers/other/locations/nl-ams-1/disks", _server.Requests[0].Path);
        Assert.Equal("/api/1/alpha/customers/cust-1/cloudspaces/cs-9/dns", _server.Requests[1].Path);
        Assert.Equal("?cs_only=true", _server.Requests[1].Query);
    }

    [Fact]
    public async Task A_missing_context_value_is_named()
    {
        var (client, services) = ClientFactory.Create(_server, o => o.CloudspaceId = null);
        await using var _ = services;

        var e = await Assert.ThrowsAsync<InvalidOperationException>(() => client.ListExposedDisksAsync());
        Assert.Contains("Whitesky:CloudspaceId", e.Message, StringComparison.Ordinal);
        Assert.Empty(_server.Requests);
    }

    [Fact]
    public async Task Create_builds_a_standalone_client_that_owns_its_pipeline()
    {
        _server.AnswerJson(200, """{"currency": "EUR", "locations": [{"location": "be-gen-1", "resources": {"su": 1, "ou": 1, "mu": 1, "vcu": 1, "tu": 1, "wu": 1, "nu": 1, "vgu": 0, "fsu": 0}}]}""");
        using var client = WhiteskyClient.Create(new WhiteskyClientOptions
        {
            BaseUrl = _server.ApiUrl,
            Jwt = TestJwt.Create(DateTimeOffset.UtcNow.AddHours(1)),
            CustomerId = "acme",
        });

        var pricing = await client.ListLocationsAsync();

        Assert.Equal("EUR", pricing.Currency);
        Assert.Equal("be-gen-1", Assert.Single(pricing.Locations).Location);
        Assert.Equal(1, pricing.Locations[0].Resources.Su);
        Assert.Equal("/api/1/customers/acme/locations", _server.Requests.Single().Path);
    }
}
