using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Whitesky.Api.Auth;
using Whitesky.Api.Tests.Peers;

namespace Whitesky.Api.Tests.Http;

/// <summary>Bearer JWT on every call, refreshed through the IAM before <c>exp</c>, one refresh for concurrent callers.</summary>
public sealed class AuthTests : IAsyncLifetime
{
    private const string SuccessJson = """{"result": []}""";
    private ScriptedHttpServer _server = null!;

    public async Task InitializeAsync() => _server = await ScriptedHttpServer.StartAsync();

    public async Task DisposeAsync() => await _server.DisposeAsync();

    [Fact]
    public async Task Every_call_carries_the_configured_jwt_as_bearer()
    {
        var jwt = TestJwt.Create(DateTimeOffset.UtcNow.AddHours(1));
        _server.AnswerJson(200, SuccessJson);
        var (client, services) = ClientFactory.Create(_server, o => o.Jwt = jwt);
        await using var _ = services;

        await client.ListDisksAsync();
        await client.ListExposedDisksAsync();

        Assert.All(_server.Requests, r => Assert.Equal("Bearer " + jwt, r.Authorization));
    }

    [Theory]
    [InlineData("bare")]
    [InlineData("json-string")]
    [InlineData("jwt")]
    [InlineData("token")]
    [InlineData("access_token")]
    public async Task A_jwt_close_to_expiry_is_refreshed_through_the_iam_before_the_call(string answerShape)
    {
        var old = TestJwt.Create(DateTimeOffset.UtcNow.AddSeconds(30));
        var fresh = TestJwt.Create(DateTimeOffset.UtcNow.AddHours(1));
        _server.Handle(async (r, ctx) =>
        {
            if (r.Path == "/iam/v1/oauth/jwt/refresh")
            {
                var body = answerShape switch
                {
                    "bare" => fresh,
                    "json-string" => $"\"{fresh}\"",
                    _ => $"{{\"{answerShape}\": \"{fresh}\"}}",
                };
                ctx.Response.ContentType = answerShape == "bare" ? "text/plain" : "application/json";
                await ctx.Response.WriteAsync(body);
                return;
            }

            await ScriptedHttpServer.WriteJsonAsync(ctx, r.Authorization == "Bearer " + fresh ? 200 : 401, SuccessJson);
        });
        var (client, services) = ClientFactory.Create(_server, o =>
        {
            o.Jwt = old;
            o.IamUrl = _server.IamUrl;
            o.RefreshBeforeExpiry = TimeSpan.FromMinutes(1);
        });
        await using var _ = services;

        await client.ListDisksAsync();
        await client.ListDisksAsync();

        var requests = _server.Requests;
        Assert.Equal(["/iam/v1/oauth/jwt/refresh", "/api/1/customers/cust-1/locations/loc-1/disks", "/api/1/customers/cust-1/locations/loc-1/disks"], requests.Select(r => r.Path));
        Assert.Equal("Bearer " + old, requests[0].Authorization);
        Assert.Equal("Bearer " + fresh, requests[1].Authorization);
        Assert.Equal("Bearer " + fresh, requests[2].Authorization);
    }

    [Fact]
    public async Task Concurrent_callers_share_one_refresh()
    {
        var old = TestJwt.Create(DateTimeOffset.UtcNow.AddSeconds(10));
        var fresh = TestJwt.Create(DateTimeOffset.UtcNow.AddHours(1));
        var release = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        _server.Handle(async (r, ctx) =>
        {
            if (r.Path.StartsWith("/iam/", StringComparison.Ordinal))
            {
                await release.Task;
                await ctx.Response.WriteAsync($"{{\"jwt\": \"{fresh}\"}}");
                return;
            }

            await ScriptedHttpServer.WriteJsonAsync(ctx, r.Authorization == "Bearer " + fresh ? 200 : 401, SuccessJson);
        });
        var (client, services) = ClientFactory.Create(_server, o =>
        {
            o.Jwt = old;
            o.IamUrl = _server.IamUrl;
        });
        await using var _ = services;
        var tokens = services.GetRequiredService<WhiteskyTokenProvider>();

        const int Callers = 16;
        var calls = Enumerable.Range(0, Callers).Select(i => i % 2 == 0 ? (Task)client.ListDisksAsync() : client.ListVirtualMachinesAsync()).ToArray();
        using (var patience = new CancellationTokenSource(TimeSpan.FromSeconds(10)))
        {
            while (tokens.WaitingForRefresh < Callers)
            {
                await Task.Delay(1, patience.Token);
            }
        }

        release.SetResult();
        await Task.WhenAll(calls);

        Assert.Equal(1, tokens.RefreshCount);
        Assert.Single(_server.Requests, r => r.Path.StartsWith("/iam/", StringComparison.Ordinal));
        Assert.All(_server.Requests.Where(r => r.Path.StartsWith("/api/", StringComparison.Ordinal)), r => Assert.Equal("Bearer " + fresh, r.Authorization));
        Assert.Equal(Callers, _server.Requests.Count(r => r.Path.StartsWith("/api/", StringComparison.Ordinal)));
    }

    [Fact]
    public async Task A_failed_refresh_of_an_expired_jwt_is_a_whitesky_api_exception_without_the_token()
    {
        var expired = TestJwt.Create(DateTimeOffset.UtcNow.AddSeconds(-5));
        _server.Handle(async (r, ctx) => await ScriptedHttpServer.WriteJsonAsync(ctx, 401, $"{{\"message\": \"token {expired} expired\"}}"));
        var (client, services) = ClientFactory.Create(_server, o =>
        {
            o.Jwt = expired;
            o.IamUrl = _server.IamUrl;
        });
        await using var _ = services;

        var e = await Assert.ThrowsAsync<WhiteskyApiException>(() => client.ListDisksAsync());

        Assert.Equal(WhiteskyTokenProvider.RefreshOperationId, e.OperationId);
        Assert.Equal(System.Net.HttpStatusCode.Unauthorized, e.StatusCode);
        Assert.DoesNotContain(expired, e.ToString(), StringComparison.Ordinal);
        Assert.Contains("token *** expired", e.Message, StringComparison.Ordinal);
        Assert.All(_server.Requests, r => Assert.StartsWith("/iam/", r.Path, StringComparison.Ordinal));
    }

    [Fact]
    public async Task A_failed_refresh_keeps_using_a_jwt_that_is_still_valid()
    {
        var current = TestJwt.Create(DateTimeOffset.UtcNow.AddSeconds(40));
        _server.Handle(async (r, ctx) =>
            await ScriptedHttpServer.WriteJsonAsync(ctx, r.Path.StartsWith("/iam/", StringComparison.Ordinal) ? 503 : 200, SuccessJson));
        var (client, services) = ClientFactory.Create(_server, o =>
        {
            o.Jwt = current;
            o.IamUrl = _server.IamUrl;
        });
        await using var _ = services;

        await client.ListDisksAsync();

        var api = Assert.Single(_server.Requests, r => r.Path.StartsWith("/api/", StringComparison.Ordinal));
        Assert.Equal("Bearer " + current, api.Authorization);
    }

    [Fact]
    public async Task Without_an_iam_url_an_expired_jwt_is_sent_and_the_platforms_401_surfaces()
    {
        var expired = TestJwt.Create(DateTimeOffset.UtcNow.AddMinutes(-1));
        _server.AnswerJson(401, """{"message": "JWT expired"}""");
        var (client, services) = ClientFactory.Create(_server, o => o.Jwt = expired);
        await using var _ = services;

        var e = await Assert.ThrowsAsync<WhiteskyApiException>(() => client.GetVirtualMachineAsync(3));

        Assert.Equal("getVirtualMachineInfo", e.OperationId);
        Assert.Equal(System.Net.HttpStatusCode.Unauthorized, e.StatusCode);
        Assert.Equal("JWT expired", e.PlatformMessage);
        Assert.Single(_server.Requests);
    }

    [Fact]
    public async Task A_jwt_the_platform_rejects_before_its_exp_is_refreshed_once_and_the_call_sent_again()
    {
        var revoked = TestJwt.Create(DateTimeOffset.UtcNow.AddHours(1));
        var fresh = TestJwt.Create(DateTimeOffset.UtcNow.AddHours(2));
        _server.Handle(async (r, ctx) =>
        {
            if (r.Path.StartsWith("/iam/", StringComparison.Ordinal))
            {
                await ctx.Response.WriteAsync(fresh);
                return;
            }

            await ScriptedHttpServer.WriteJsonAsync(ctx, r.Authorization == "Bearer " + fresh ? 200 : 401, """{"vm_id": 12}""");
        });
        var (client, services) = ClientFactory.Create(_server, o =>
        {
            o.Jwt = revoked;
            o.IamUrl = _server.IamUrl;
        });
        await using var _ = services;

        var vmId = await client.ImportVirtualMachineFromS3Async(new Models.ImportVmFromS3Request
        {
            Link = "l", Key = "k", Secret = "s", Region = "r", Bucket = "b", ObjectName = "o", Name = "n", Description = "d",
            VCpus = 1, Memory = 1, BootType = Models.BootType.Bios, OsType = Models.OsType.Linux, OsName = Models.OsName.LinuxOther,
        });
        await client.ListDisksAsync();

        Assert.Equal(12, vmId);
        Assert.Equal(
            [("POST", "Bearer " + revoked), ("GET", "Bearer " + revoked), ("POST", "Bearer " + fresh), ("GET", "Bearer " + fresh)],
            _server.Requests.Select(r => (r.Method, r.Authorization)));
        Assert.Equal(_server.Requests[0].Body, _server.Requests[2].Body);
        Assert.Equal(1, services.GetRequiredService<WhiteskyTokenProvider>().RefreshCount);
    }

    [Fact]
    public async Task A_401_that_a_refresh_cannot_fix_surfaces_after_one_refresh()
    {
        var jwt = TestJwt.Create(DateTimeOffset.UtcNow.AddHours(1));
        _server.Handle(async (r, ctx) => await ScriptedHttpServer.WriteJsonAsync(ctx, 401, """{"message": "no access"}"""));
        var (client, services) = ClientFactory.Create(_server, o =>
        {
            o.Jwt = jwt;
            o.IamUrl = _server.IamUrl;
        });
        await using var _ = services;

        var e = await Assert.ThrowsAsync<WhiteskyApiException>(() => client.ListDisksAsync());

        Assert.Equal(("listDisks", System.Net.HttpStatusCode.Unauthorized, "no access"), (e.OperationId, e.StatusCode, e.PlatformMessage));
        Assert.Equal(["/api/", "/iam/"], _server.Requests.Select(r => r.Path[..5]));
    }
}
