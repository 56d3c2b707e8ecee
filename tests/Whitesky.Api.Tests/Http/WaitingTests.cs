using Whitesky.Api.Tests.Peers;

namespace Whitesky.Api.Tests.Http;

/// <summary>The waiting helpers poll until a status arrives, fail fast on a failed status, time out and cancel.</summary>
public sealed class WaitingTests : IAsyncLifetime
{
    private ScriptedHttpServer _server = null!;

    public async Task InitializeAsync() => _server = await ScriptedHttpServer.StartAsync();

    public async Task DisposeAsync() => await _server.DisposeAsync();

    private void Statuses(params string[] sequence)
    {
        var index = -1;
        _server.Handle(async (r, ctx) =>
        {
            var status = sequence[Math.Min(Interlocked.Increment(ref index), sequence.Length - 1)];
            var json = r.Path.Contains("/disks/", StringComparison.Ordinal)
                ? $$"""{"disk_id": 8, "status": "{{status}}"}"""
                : $$"""{"vm_id": 8, "status": "{{status}}"}""";
            await ScriptedHttpServer.WriteJsonAsync(ctx, 200, json);
        });
    }

    [Fact]
    public async Task Waiting_for_a_running_vm_polls_until_it_runs()
    {
        Statuses("DEPLOYING", "DEPLOYING", "STARTING", "RUNNING", "HALTED");
        var (client, services) = ClientFactory.Create(_server);
        await using var _ = services;

        var vm = await client.WaitForVirtualMachineRunningAsync(8, TimeSpan.FromSeconds(10));

        Assert.Equal("RUNNING", vm.Status);
        Assert.Equal(4, _server.Requests.Count);
        Assert.All(_server.Requests, r => Assert.Equal("/api/1/customers/cust-1/cloudspaces/cs-1/vms/8", r.Path));
    }

    [Fact]
    public async Task Waiting_for_a_stopped_vm_accepts_halted()
    {
        Statuses("RUNNING", "halted");
        var (client, services) = ClientFactory.Create(_server);
        await using var _ = services;

        var vm = await client.WaitForVirtualMachineStoppedAsync(8, TimeSpan.FromSeconds(10));

        Assert.Equal("halted", vm.Status);
        Assert.Equal(2, _server.Requests.Count);
    }

    [Fact]
    public async Task Waiting_for_a_created_disk_polls_the_disk()
    {
        Statuses("MODELED", "CREATED");
        var (client, services) = ClientFactory.Create(_server);
        await using var _ = services;

        var disk = await client.WaitForDiskCreatedAsync(8, TimeSpan.FromSeconds(10));

        Assert.Equal("CREATED", disk.Status);
        Assert.All(_server.Requests, r => Assert.Equal("/api/1/customers/cust-1/locations/loc-1/disks/8", r.Path));
    }

    [Fact]
    public async Task A_failed_status_ends_the_wait_with_an_exception_naming_it()
    {
        Statuses("DEPLOYING", "ERROR");
        var (client, services) = ClientFactory.Create(_server);
        await using var _ = services;

        var e = await Assert.ThrowsAsync<WhiteskyApiException>(() => client.WaitForVirtualMachineRunningAsync(8, TimeSpan.FromSeconds(10)));

        Assert.Equal("getVirtualMachineInfo", e.OperationId);
        Assert.Contains("VM 8 reached status ERROR", e.Message, StringComparison.Ordinal);
        Assert.Equal(2, _server.Requests.Count);
    }

    [Fact]
    public async Task A_status_that_never_comes_times_out_naming_the_last_status()
    {
        Statuses("DEPLOYING");
        var (client, services) = ClientFactory.Create(_server);
        await using var _ = services;

        var e = await Assert.ThrowsAsync<TimeoutException>(() => client.WaitForVirtualMachineRunningAsync(8, TimeSpan.FromMilliseconds(300)));

        Assert.Contains("VM 8", e.Message, StringComparison.Ordinal);
        Assert.Contains("last status: DEPLOYING", e.Message, StringComparison.Ordinal);
        Assert.True(_server.Requests.Count >= 2);
    }

    [Fact]
    public async Task Cancelling_the_wait_throws_operation_canceled()
    {
        Statuses("DEPLOYING");
        var (client, services) = ClientFactory.Create(_server);
        await using var _ = services;
        using var cts = new CancellationTokenSource();

        var wait = client.WaitForVirtualMachineRunningAsync(8, TimeSpan.FromMinutes(5), cts.Token);
        while (_server.Requests.Count < 2)
        {
            await Task.Yield();
        }

        await cts.CancelAsync();

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => wait);
    }
}
