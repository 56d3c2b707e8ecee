using System.Net;
using System.Net.Sockets;
using Whitesky.Api.Tests.Peers;

namespace Whitesky.Api.Tests.Http;

/// <summary>Error statuses and lost calls surface as <see cref="WhiteskyApiException"/> naming the operation.</summary>
public sealed class ErrorMappingTests : IAsyncLifetime
{
    private ScriptedHttpServer _server = null!;

    public async Task InitializeAsync() => _server = await ScriptedHttpServer.StartAsync();

    public async Task DisposeAsync() => await _server.DisposeAsync();

    [Theory]
    [InlineData(401, "Unauthorized: missing JWT")]
    [InlineData(404, "Disk 77 not found")]
    [InlineData(409, "Disk is attached to a running VM")]
    [InlineData(500, "Internal error")]
    public async Task Error_status_becomes_a_whitesky_api_exception_with_operation_status_message_and_request_id(int status, string message)
    {
        _server.AnswerJson(status, $$"""{"message": "{{message}}"}""", new Dictionary<string, string> { ["X-Request-ID"] = "req-" + status });
        var (client, services) = ClientFactory.Create(_server);
        await using var _ = services;

        var e = await Assert.ThrowsAsync<WhiteskyApiException>(() => client.DeleteDiskAsync(77, permanently: true));

        Assert.Equal("deleteDisk", e.OperationId);
        Assert.Equal((HttpStatusCode)status, e.StatusCode);
        Assert.Equal(message, e.PlatformMessage);
        Assert.Equal("req-" + status, e.RequestId);
        Assert.Contains("'deleteDisk'", e.Message, StringComparison.Ordinal);
        Assert.Contains($"HTTP {status}", e.Message, StringComparison.Ordinal);
        Assert.Contains(message, e.Message, StringComparison.Ordinal);
        Assert.Contains("req-" + status, e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_plain_text_error_body_is_the_platform_message()
    {
        _server.Handle(async (_, ctx) =>
        {
            ctx.Response.StatusCode = 409;
            await Microsoft.AspNetCore.Http.HttpResponseWritingExtensions.WriteAsync(ctx.Response, "cdrom is in use");
        });
        var (client, services) = ClientFactory.Create(_server);
        await using var _ = services;

        var e = await Assert.ThrowsAsync<WhiteskyApiException>(() => client.DetachCdromAsync(1, 2));

        Assert.Equal("detachVirtualMachineCDROM", e.OperationId);
        Assert.Equal("cdrom is in use", e.PlatformMessage);
        Assert.Null(e.RequestId);
    }

    [Fact]
    public async Task A_refused_connection_is_a_whitesky_api_exception_without_status()
    {
        var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        var port = ((IPEndPoint)listener.LocalEndpoint).Port;
        listener.Stop();
        var (client, services) = ClientFactory.Create(_server, o =>
        {
            o.BaseUrl = new Uri($"http://127.0.0.1:{port}/api/1");
            o.MaxRetries = 1;
        });
        await using var _ = services;

        var e = await Assert.ThrowsAsync<WhiteskyApiException>(() => client.GetDiskAsync(1));

        Assert.Equal("getDiskInfo", e.OperationId);
        Assert.Null(e.StatusCode);
        Assert.IsType<HttpRequestException>(e.InnerException);
    }

    [Fact]
    public async Task A_body_that_does_not_match_the_model_is_a_whitesky_api_exception()
    {
        _server.AnswerJson(200, """{"disk_id": "not-a-number"}""");
        var (client, services) = ClientFactory.Create(_server);
        await using var _ = services;

        var e = await Assert.ThrowsAsync<WhiteskyApiException>(() => client.GetDiskAsync(1));

        Assert.Equal("getDiskInfo", e.OperationId);
        Assert.Equal(HttpStatusCode.OK, e.StatusCode);
        Assert.Contains("does not match", e.PlatformMessage, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Caller_cancellation_stays_an_operation_canceled_exception()
    {
        _server.Handle(async (_, ctx) => await Task.Delay(Timeout.Infinite, ctx.RequestAborted));
        var (client, services) = ClientFactory.Create(_server);
        await using var _ = services;
        using var cts = new CancellationTokenSource();

        var call = client.GetDiskAsync(1, cts.Token);
        await cts.CancelAsync();

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => call);
    }
}
