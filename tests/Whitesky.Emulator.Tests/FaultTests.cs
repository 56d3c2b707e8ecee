using System.Diagnostics;
using System.Net;
using System.Text;
using Whitesky.Nbd;

namespace Whitesky.Emulator.Tests;

/// <summary>Fault switches, through the in-process handle and the <c>/_emulator/faults</c> endpoint.</summary>
public class FaultTests
{
    private static readonly TimeSpan Limit = TimeSpan.FromSeconds(60);

    [Fact]
    public async Task A_chosen_operation_fails_with_the_chosen_status_for_the_chosen_number_of_calls()
    {
        await using var emulator = await WhiteskyEmulator.StartAsync();
        using var http = new EmulatorHttp(emulator);
        emulator.Faults.FailOperation("listDisks", 503, times: 2);
        var failed = await http.ExpectAsync(HttpStatusCode.ServiceUnavailable, HttpMethod.Get, $"{http.Location}/disks");
        Assert.Contains("listDisks", failed.GetProperty("message").GetString(), StringComparison.Ordinal);
        await http.ExpectAsync(HttpStatusCode.ServiceUnavailable, HttpMethod.Get, $"{http.Location}/disks");
        await http.OkAsync(HttpMethod.Get, $"{http.Location}/disks");

        // A failed create leaves nothing behind.
        emulator.Faults.FailOperation("createDisk");
        await http.ExpectAsync(HttpStatusCode.InternalServerError, HttpMethod.Post, $"{http.Location}/disks?disk_name=a&description=b&disk_size=1");
        await http.ExpectAsync(HttpStatusCode.InternalServerError, HttpMethod.Post, $"{http.Location}/disks?disk_name=a&description=b&disk_size=1");
        emulator.Faults.ClearOperationFailure("createDisk");
        Assert.Empty((await http.OkAsync(HttpMethod.Get, $"{http.Location}/disks")).GetProperty("result").EnumerateArray());
        await http.CreateDiskAsync();
    }

    [Fact]
    public async Task An_aborted_operation_resets_the_connection_before_or_after_doing_its_work()
    {
        await using var emulator = await WhiteskyEmulator.StartAsync();
        using var http = new EmulatorHttp(emulator);

        // After running: the disk is made, but the caller never hears of it.
        emulator.Faults.AbortOperation("createDisk", afterRunning: true, times: 1);
        await Assert.ThrowsAsync<HttpRequestException>(() => http.Client.PostAsync($"{http.Location}/disks?disk_name=a&description=b&disk_size=1", null));
        Assert.Single((await http.OkAsync(HttpMethod.Get, $"{http.Location}/disks")).GetProperty("result").EnumerateArray());

        // Before running (set over HTTP): nothing is made.
        await http.AdminAsync(HttpMethod.Post, "/faults/operations/createDisk?abort=before&times=1");
        await Assert.ThrowsAsync<HttpRequestException>(() => http.Client.PostAsync($"{http.Location}/disks?disk_name=a&description=b&disk_size=1", null));
        Assert.Single((await http.OkAsync(HttpMethod.Get, $"{http.Location}/disks")).GetProperty("result").EnumerateArray());
        await http.CreateDiskAsync();
        Assert.Equal(2, (await http.OkAsync(HttpMethod.Get, $"{http.Location}/disks")).GetProperty("result").GetArrayLength());
    }

    [Fact]
    public async Task The_admin_endpoint_sets_and_resets_the_same_switches()
    {
        await using var emulator = await WhiteskyEmulator.StartAsync();
        using var http = new EmulatorHttp(emulator);
        using var settings = new StringContent("""{"fail_operations": {"listCloudspaces": 502}, "fail_exposes": true, "drop_nbd_connections_after_bytes": 4096, "latency_ms": 5}""", Encoding.UTF8, "application/json");
        var state = await http.OkAsync(HttpMethod.Put, $"{emulator.AdminUrl}/faults", settings);
        Assert.Equal(502, state.GetProperty("fail_operations").GetProperty("listCloudspaces").GetInt32());
        Assert.True(emulator.Faults.FailExposes);
        Assert.Equal(4096, emulator.Faults.DropNbdConnectionsAfterBytes);
        Assert.Equal(TimeSpan.FromMilliseconds(5), emulator.Faults.Latency);
        await http.ExpectAsync(HttpStatusCode.BadGateway, HttpMethod.Get, $"{http.Customer}/cloudspaces");

        await http.AdminAsync(HttpMethod.Post, "/faults/operations/getDiskInfo?status=500&times=1");
        var disk = await http.CreateDiskAsync();
        await http.ExpectAsync(HttpStatusCode.InternalServerError, HttpMethod.Get, $"{http.Location}/disks/{disk}");
        await http.OkAsync(HttpMethod.Get, $"{http.Location}/disks/{disk}");
        await http.ExpectAsync(HttpStatusCode.NotFound, HttpMethod.Post, $"{emulator.AdminUrl}/faults/operations/noSuchOperation");

        await http.AdminAsync(HttpMethod.Delete, "/faults");
        Assert.False(emulator.Faults.FailExposes);
        Assert.Null(emulator.Faults.DropNbdConnectionsAfterBytes);
        Assert.Empty(emulator.Faults.FailingOperations);
        await http.OkAsync(HttpMethod.Get, $"{http.Customer}/cloudspaces");
    }

    [Fact]
    public async Task With_a_state_transition_delay_disks_and_vms_pass_through_transitional_statuses()
    {
        var clock = new ManualClock();
        await using var emulator = await WhiteskyEmulator.StartAsync(new WhiteskyEmulatorOptions { TimeProvider = clock });
        using var http = new EmulatorHttp(emulator);
        emulator.Faults.StateTransitionDelay = TimeSpan.FromSeconds(10);
        async Task<string?> DiskStatus(int id) => (await http.OkAsync(HttpMethod.Get, $"{http.Location}/disks/{id}")).GetProperty("status").GetString();
        async Task<string?> VmStatus(int id) => (await VmTests.GetVmAsync(http, id)).GetProperty("status").GetString();

        var disk = await http.CreateDiskAsync();
        Assert.Equal("CREATING", await DiskStatus(disk));
        var early = await http.ExpectAsync(HttpStatusCode.Conflict, HttpMethod.Post, $"{http.Cloudspace}/exposed-disks?disk_id={disk}");
        Assert.Contains("CREATING", early.GetProperty("message").GetString(), StringComparison.Ordinal);
        clock.Advance(TimeSpan.FromSeconds(10));
        Assert.Equal("CREATED", await DiskStatus(disk));

        var vm = (await http.OkAsync(HttpMethod.Post, $"{http.Cloudspace}/vms?name=v&description=d&vcpus=1&memory=512&boot_disk_id={disk}")).GetProperty("vm_id").GetInt32();
        Assert.Equal("CREATING", await VmStatus(vm));
        clock.Advance(TimeSpan.FromSeconds(10));
        Assert.Equal("RUNNING", await VmStatus(vm));
        await http.OkAsync(HttpMethod.Post, $"{http.Cloudspace}/vms/{vm}/stop");
        Assert.Equal("STOPPING", await VmStatus(vm));
        clock.Advance(TimeSpan.FromSeconds(9));
        Assert.Equal("STOPPING", await VmStatus(vm));
        clock.Advance(TimeSpan.FromSeconds(1));
        Assert.Equal("STOPPED", await VmStatus(vm));
        await http.OkAsync(HttpMethod.Post, $"{http.Cloudspace}/vms/{vm}/start");
        Assert.Equal("STARTING", await VmStatus(vm));

        emulator.Faults.Reset();
        Assert.Equal("STARTING", await VmStatus(vm)); // a change made with a delay keeps its own deadline
        clock.Advance(TimeSpan.FromSeconds(10));
        Assert.Equal("RUNNING", await VmStatus(vm));
        Assert.Equal("CREATED", await DiskStatus(await http.CreateDiskAsync()));
    }

    [Fact]
    public async Task Latency_delays_every_call()
    {
        await using var emulator = await WhiteskyEmulator.StartAsync();
        using var http = new EmulatorHttp(emulator);
        emulator.Faults.Latency = TimeSpan.FromMilliseconds(300);
        var watch = Stopwatch.StartNew();
        await http.OkAsync(HttpMethod.Get, $"{http.Location}/disks");
        Assert.True(watch.Elapsed >= TimeSpan.FromMilliseconds(300), watch.Elapsed.ToString());
    }

    [Fact]
    public async Task A_failing_expose_answers_but_its_endpoint_refuses_clients_and_earlier_exposures_keep_working()
    {
        await using var emulator = await WhiteskyEmulator.StartAsync();
        using var http = new EmulatorHttp(emulator);
        var good = NbdExposure.From(await http.ExposeAsync(await http.CreateDiskAsync()));
        emulator.Faults.FailExposes = true;
        var bad = NbdExposure.From(await http.ExposeAsync(await http.CreateDiskAsync()));
        await Assert.ThrowsAnyAsync<NbdException>(() => bad.ConnectAsync().WaitAsync(Limit));
        await using var client = await good.ConnectAsync().WaitAsync(Limit);
        await client.ReadAsync(0, new byte[4096]);
    }

    [Fact]
    public async Task Nbd_connections_are_cut_on_demand_or_after_a_number_of_bytes()
    {
        await using var emulator = await WhiteskyEmulator.StartAsync();
        using var http = new EmulatorHttp(emulator);
        var exposure = NbdExposure.From(await http.ExposeAsync(await http.CreateDiskAsync()));

        await using (var client = await exposure.ConnectAsync().WaitAsync(Limit))
        {
            await client.WriteAsync(0, new byte[65536]);
            emulator.Faults.DropNbdConnections();
            await Assert.ThrowsAnyAsync<NbdException>(() => client.ReadAsync(0, new byte[65536]).AsTask().WaitAsync(Limit));
        }

        emulator.Faults.DropNbdConnectionsAfterBytes = 1 << 20;
        await using (var client = await exposure.ConnectAsync().WaitAsync(Limit))
        {
            await client.ReadAsync(0, new byte[256 * 1024]);
            await Assert.ThrowsAnyAsync<NbdException>(async () =>
            {
                for (var i = 0; i < 8; i++)
                {
                    await client.ReadAsync(0, new byte[256 * 1024]).AsTask().WaitAsync(Limit);
                }
            });
        }

        // The same cut through the admin endpoint.
        emulator.Faults.DropNbdConnectionsAfterBytes = null;
        await using (var client = await exposure.ConnectAsync().WaitAsync(Limit))
        {
            await client.ReadAsync(0, new byte[4096]);
            await http.AdminAsync(HttpMethod.Post, "/faults/drop-nbd-connections");
            await Assert.ThrowsAnyAsync<NbdException>(() => client.ReadAsync(0, new byte[65536]).AsTask().WaitAsync(Limit));
        }

        // With the switch off, the same exposure serves again.
        emulator.Faults.DropNbdConnectionsAfterBytes = null;
        await using (var client = await exposure.ConnectAsync().WaitAsync(Limit))
        {
            await client.ReadAsync(0, new byte[4 << 20]);
        }
    }
}
