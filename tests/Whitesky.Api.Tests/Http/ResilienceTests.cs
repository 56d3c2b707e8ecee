using System.Net;
using Polly.Timeout;
using Whitesky.Api.Models;
using Whitesky.Api.Tests.Peers;

namespace Whitesky.Api.Tests.Http;

/// <summary>Idempotent calls (GET, PUT, DELETE) are retried on 429/503/connection errors/attempt timeouts; POST never is.</summary>
public sealed class ResilienceTests : IAsyncLifetime
{
    private ScriptedHttpServer _server = null!;

    public async Task InitializeAsync() => _server = await ScriptedHttpServer.StartAsync();

    public async Task DisposeAsync() => await _server.DisposeAsync();

    /// <summary>Answers the first <paramref name="failures"/> requests with <paramref name="status"/>, then <paramref name="json"/>.</summary>
    private void FailThenSucceed(int failures, int status, string json, IDictionary<string, string>? failureHeaders = null)
    {
        var seen = 0;
        _server.Handle(async (_, ctx) =>
        {
            if (Interlocked.Increment(ref seen) <= failures)
            {
                await ScriptedHttpServer.WriteJsonAsync(ctx, status, """{"message": "busy"}""", failureHeaders);
                return;
            }

            await ScriptedHttpServer.WriteJsonAsync(ctx, 200, json);
        });
    }

    [Theory]
    [InlineData(503)]
    [InlineData(429)]
    public async Task Get_is_retried_on_transient_status_until_it_succeeds(int status)
    {
        FailThenSucceed(2, status, """{"disk_id": 4, "status": "CREATED"}""");
        var (client, services) = ClientFactory.Create(_server);
        await using var _ = services;

        var disk = await client.GetDiskAsync(4);

        Assert.Equal("CREATED", disk.Status);
        Assert.Equal(3, _server.Requests.Count);
        Assert.All(_server.Requests, r => Assert.Equal("GET", r.Method));
    }

    [Fact]
    public async Task Put_is_retried_on_503_honouring_retry_after()
    {
        FailThenSucceed(1, 503, """{"success": true}""", new Dictionary<string, string> { ["Retry-After"] = "0" });
        var (client, services) = ClientFactory.Create(_server);
        await using var _ = services;

        Assert.True(await client.ResizeDiskAsync(4, 40));

        Assert.Equal(2, _server.Requests.Count);
        Assert.All(_server.Requests, r => Assert.Equal("PUT", r.Method));
        Assert.All(_server.Requests, r => Assert.Equal("?disk_size=40", r.Query));
    }

    [Fact]
    public async Task Delete_is_retried_on_429()
    {
        FailThenSucceed(1, 429, """{"success": true}""");
        var (client, services) = ClientFactory.Create(_server);
        await using var _ = services;

        Assert.True(await client.UnexposeDiskAsync(4));

        Assert.Equal(2, _server.Requests.Count);
        Assert.All(_server.Requests, r => Assert.Equal("DELETE", r.Method));
    }

    [Theory]
    [InlineData(503)]
    [InlineData(429)]
    public async Task Post_is_never_retried(int status)
    {
        FailThenSucceed(1, status, """{"disk_id": 4}""");
        var (client, services) = ClientFactory.Create(_server);
        await using var _ = services;

        var e = await Assert.ThrowsAsync<WhiteskyApiException>(() => client.CreateDiskAsync(new CreateDiskRequest { DiskName = "d", Description = "d", DiskSize = 1 }));

        Assert.Equal("createDisk", e.OperationId);
        Assert.Equal((HttpStatusCode)status, e.StatusCode);
        Assert.Single(_server.Requests);
    }

    [Fact]
    public async Task A_500_is_not_retried_even_for_get()
    {
        FailThenSucceed(1, 500, """{"disk_id": 4}""");
        var (client, services) = ClientFactory.Create(_server);
        await using var _ = services;

        var e = await Assert.ThrowsAsync<WhiteskyApiException>(() => client.GetDiskAsync(4));

        Assert.Equal(HttpStatusCode.InternalServerError, e.StatusCode);
        Assert.Single(_server.Requests);
    }

    [Fact]
    public async Task Retries_stop_after_max_retries_and_the_last_status_surfaces()
    {
        _server.AnswerJson(503, """{"message": "maintenance"}""");
        var (client, services) = ClientFactory.Create(_server, o => o.MaxRetries = 2);
        await using var _ = services;

        var e = await Assert.ThrowsAsync<WhiteskyApiException>(() => client.ListDisksAsync());

        Assert.Equal("listDisks", e.OperationId);
        Assert.Equal(HttpStatusCode.ServiceUnavailable, e.StatusCode);
        Assert.Equal("maintenance", e.PlatformMessage);
        Assert.Equal(3, _server.Requests.Count);
    }

    [Fact]
    public async Task A_get_that_outlives_the_attempt_timeout_is_tried_again()
    {
        var seen = 0;
        _server.Handle(async (_, ctx) =>
        {
            if (Interlocked.Increment(ref seen) == 1)
            {
                await Task.Delay(Timeout.Infinite, ctx.RequestAborted);
            }

            await ScriptedHttpServer.WriteJsonAsync(ctx, 200, """{"vm_id": 3, "status": "RUNNING"}""");
        });
        var (client, services) = ClientFactory.Create(_server, o => o.AttemptTimeout = TimeSpan.FromSeconds(1));
        await using var _ = services;

        var vm = await client.GetVirtualMachineAsync(3);

        Assert.Equal("RUNNING", vm.Status);
        Assert.Equal(2, _server.Requests.Count);
    }

    [Fact]
    public async Task A_post_that_outlives_the_attempt_timeout_fails_once_without_retry()
    {
        _server.Handle(async (_, ctx) => await Task.Delay(Timeout.Infinite, ctx.RequestAborted));
        var (client, services) = ClientFactory.Create(_server, o => o.AttemptTimeout = TimeSpan.FromSeconds(1));
        await using var _ = services;

        var e = await Assert.ThrowsAsync<WhiteskyApiException>(() => client.StartVirtualMachineAsync(3));

        Assert.Equal("startVirtualMachine", e.OperationId);
        Assert.Null(e.StatusCode);
        Assert.IsType<TimeoutRejectedException>(e.InnerException);
        Assert.Single(_server.Requests);
    }

    [Fact]
    public async Task The_total_timeout_bounds_a_call_with_all_its_retries()
    {
        _server.Handle(async (_, ctx) => await Task.Delay(Timeout.Infinite, ctx.RequestAborted));
        var (client, services) = ClientFactory.Create(_server, o =>
        {
            o.AttemptTimeout = TimeSpan.FromMilliseconds(200);
            o.TotalTimeout = TimeSpan.FromMilliseconds(500);
            o.MaxRetries = 10;
        });
        await using var _ = services;

        var e = await Assert.ThrowsAsync<WhiteskyApiException>(() => client.GetDiskAsync(1));

        Assert.Null(e.StatusCode);
        Assert.IsType<TimeoutRejectedException>(e.InnerException);
        // Without the total timeout, 11 attempts of 200 ms would run.
        Assert.InRange(_server.Requests.Count, 1, 4);
    }
}
