using System.Security.Cryptography;
using Whitesky.Api;
using Whitesky.Emulator;
using Whitesky.Migration.Cutover;
using Whitesky.Migration.Replication;
using Whitesky.Nbd;
using Whitesky.Nbd.Tests.Peers;

namespace Whitesky.IntegrationTests.Replication;

/// <summary>
/// Nearly-online end to end: qcow2 sources exported by qemu-nbd with persistent dirty bitmaps and written while they
/// replicate into emulator disks over NBD TLS-PSK, then a cutover of the two-VM application (VMs, DNS records).
/// </summary>
public class NearlyOnlineTests
{
    private const long MiB = 1L << 20;

    private sealed class Source : IAsyncDisposable
    {
        private Source(string name, ServerProcess server, NbdClient writer)
        {
            Name = name;
            Server = server;
            Writer = writer;
        }

        public string Name { get; }

        public ServerProcess Server { get; }

        public NbdClient Writer { get; }

        public bool Stopped { get; set; }

        public int Restarts { get; set; }

        public static async Task<Source> StartAsync(TempDirectory dir, string name, int seed)
        {
            var image = dir.File(name + ".qcow2");
            await ExternalTool.RunAsync("qemu-img", ["create", "-q", "-f", "qcow2", image, "64M"]);
            await ExternalTool.RunAsync("qemu-io", ["-f", "qcow2", "-c", $"write -P 0x{seed:x2} 0 6M", image]);
            await ExternalTool.RunAsync("qemu-img", ["bitmap", "--add", image, "replication"]);
            var server = await ServerProcess.StartQemuNbdAsync(image, "qcow2", "-B", "replication", "-e", "4");
            return new Source(name, server, await NbdClient.ConnectAsync(server.Options()));
        }

        public async Task WriteAsync(long offset, int length, int seed)
        {
            await Writer.WriteAsync(offset, TestData.Random(length, seed));
            await Writer.FlushAsync();
        }

        public async Task<string> HashAsync()
        {
            using var sha = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
            var buffer = new byte[4 * MiB];
            for (var offset = 0L; offset < Writer.Export.Size; offset += buffer.Length)
            {
                await Writer.ReadAsync(offset, buffer);
                sha.AppendData(buffer);
            }

            return Convert.ToHexString(sha.GetHashAndReset());
        }

        public async ValueTask DisposeAsync()
        {
            await Writer.DisposeAsync();
            await Server.DisposeAsync();
        }
    }

    private static WhiteskyClient Client(WhiteskyEmulator emulator) => WhiteskyClient.Create(new WhiteskyClientOptions
    {
        BaseUrl = emulator.BaseUrl,
        Jwt = emulator.Jwt,
        IamUrl = emulator.IamUrl,
        CustomerId = emulator.CustomerId,
        CloudspaceId = emulator.CloudspaceId,
        Location = emulator.Location,
        PollInterval = TimeSpan.FromMilliseconds(20),
    });

    private static async Task<string> DiskPrefixHashAsync(WhiteskyEmulator emulator, long diskId, long length)
    {
        await using var file = File.OpenRead(Path.Combine(emulator.DataDirectory, "disks", $"disk-{diskId}.raw"));
        var buffer = new byte[length];
        await file.ReadExactlyAsync(buffer);
        return TestData.Sha256(buffer);
    }

    private sealed record Replicated(Source Source, WhiteskyDiskTarget Disk, ReplicationSession Session, DirtyBitmapChangeSource Changes);

    private static async Task<Replicated> ReplicateAsync(WhiteskyClient client, Source source, int seed)
    {
        var changes = await DirtyBitmapChangeSource.ConnectAsync(source.Server.Options(), "replication");
        var disk = await WhiteskyDiskTarget.CreateAsync(client, source.Name + "-boot", changes.Capacity);
        var session = await ReplicationSession.OpenAsync(changes, disk.Sink!, new ReplicationOptions { UntilDeltaBytes = 64 * 1024 });

        // The source keeps being written while the passes run: each pass's copy finds new writes for the next one.
        var writes = 0;
        session.ProgressChanged += (_, p) =>
        {
            if (p.Stage == ReplicationStage.Copying && p.Transfer is null && !source.Stopped && writes < 3)
            {
                writes++;
                source.WriteAsync((10 + (writes * 3)) * MiB, 256 * 1024 >> writes, seed + writes).GetAwaiter().GetResult();
            }
        };

        var reason = await session.ReplicateAsync();
        Assert.Equal(ReplicationStopReason.DeltaSmallEnough, reason);
        return new Replicated(source, disk, session, changes);
    }

    private static CutoverPlan Plan(WhiteskyClient client, IReadOnlyList<Replicated> vms, Func<Replicated, WhiteskyCutoverTarget, IHealthProbe> probe,
        WhiteskyDnsSwitch dns) => new()
    {
        Application = "shop",
        Vms = [.. vms.Select(r =>
        {
            var target = new WhiteskyCutoverTarget(client, new WhiteskyVmDefinition { Name = r.Source.Name, BootDiskId = r.Disk.DiskId }, TimeSpan.FromSeconds(30));
            return ReplicatedVm.Create(r.Source.Name, [(r.Session, r.Disk)],
                async ct =>
                {
                    // The source platform's stop: the last write lands, then nothing changes any more.
                    await r.Source.WriteAsync(40 * MiB, 4096, 99);
                    r.Source.Stopped = true;
                },
                ct =>
                {
                    r.Source.Stopped = false;
                    r.Source.Restarts++;
                    return Task.CompletedTask;
                },
                target,
                [probe(r, target)]);
        })],
        MaxDeltaBytes = 1 * MiB,
        Dns = dns,
        ValidationTimeout = TimeSpan.FromSeconds(2),
        ProbeInterval = TimeSpan.FromMilliseconds(50),
    };

    [Fact]
    public async Task Two_vms_replicated_while_written_cut_over_into_the_emulator_with_their_final_content_and_dns()
    {
        using var dir = new TempDirectory();
        await using var emulator = await WhiteskyEmulator.StartAsync();
        using var client = Client(emulator);
        await client.AddDnsRecordAsync(new() { Domain = "shop.example.com", Type = "A", Value = "192.0.2.10" });
        await using var web = await Source.StartAsync(dir, "web", 0x11);
        await using var db = await Source.StartAsync(dir, "db", 0x22);
        var vms = new[] { await ReplicateAsync(client, web, 10), await ReplicateAsync(client, db, 20) };
        foreach (var vm in vms)
        {
            var passes = vm.Session.State.Passes;
            Assert.Equal(6 * MiB, passes[0].BytesSent);
            Assert.True(passes.Count >= 3, "incremental passes ran");
            Assert.All(passes.Skip(1), p => Assert.True(p.BytesSent <= p.BytesChanged));
        }

        var dns = new WhiteskyDnsSwitch(client, [new DnsRecordChange("shop.example.com", "A", "192.0.2.20")]);
        var plan = Plan(client, vms, (r, target) => new DelegateProbe("vm running", async ct =>
        {
            var vm = await client.GetVirtualMachineAsync(target.VmId!.Value, ct);
            if (vm.Status != "RUNNING" || vm.BootDiskId != r.Disk.DiskId)
            {
                throw new HealthProbeException($"{r.Source.Name} is {vm.Status} on disk {vm.BootDiskId}");
            }
        }), dns);

        var report = await new CutoverRunner().RunAsync(plan);
        Assert.True(report.Succeeded, report.ToText());
        Assert.NotNull(report.Downtime);
        Assert.Equal(["db", "web"], report.DowntimeByVm.Keys.Order());
        Assert.Contains("downtime:", report.ToText(), StringComparison.Ordinal);

        foreach (var vm in vms)
        {
            Assert.True(vm.Session.State.Finished);
            // The last write while replicating (32 KiB, during pass 2) and the one at the stop (4 KiB).
            Assert.Equal((32 * 1024) + 4096, vm.Session.State.LastPass!.BytesSent);
            Assert.Equal(await vm.Source.HashAsync(), await DiskPrefixHashAsync(emulator, vm.Disk.DiskId, 64 * MiB));
            Assert.Null(vm.Disk.Sink);
            await vm.Changes.DisposeAsync();
        }

        Assert.Empty(await client.ListExposedDisksAsync());
        var records = await client.ListDnsRecordsAsync();
        Assert.Equal(["192.0.2.20"], records.Where(r => r.DomainName.TrimEnd('.') == "shop.example.com").Select(r => r.Value));
        var running = await client.ListVirtualMachinesAsync();
        Assert.Equal(2, running.Count(v => v.Status == "RUNNING"));
    }

    [Fact]
    public async Task A_failed_validation_rolls_back_stops_the_targets_reverts_dns_and_restarts_the_sources()
    {
        using var dir = new TempDirectory();
        await using var emulator = await WhiteskyEmulator.StartAsync();
        using var client = Client(emulator);
        await client.AddDnsRecordAsync(new() { Domain = "shop.example.com", Type = "A", Value = "192.0.2.10" });
        await using var web = await Source.StartAsync(dir, "web", 0x11);
        var vms = new[] { await ReplicateAsync(client, web, 10) };
        var dns = new WhiteskyDnsSwitch(client, [new DnsRecordChange("shop.example.com", "A", "192.0.2.20")]);

        // Nothing listens on this port: the probe never passes.
        var closed = ServerProcess.FreePort();
        var plan = Plan(client, vms, (_, _) => new TcpProbe("127.0.0.1", closed, TimeSpan.FromMilliseconds(200)), dns);
        var report = await new CutoverRunner().RunAsync(plan);

        Assert.False(report.Succeeded);
        Assert.True(report.RolledBack, report.ToText());
        Assert.Equal(1, web.Restarts);
        Assert.False(web.Stopped);
        var vm = Assert.Single(await client.ListVirtualMachinesAsync());
        Assert.Equal("STOPPED", (await client.GetVirtualMachineAsync(vm.VmId!.Value)).Status);
        var records = await client.ListDnsRecordsAsync();
        Assert.Equal(["192.0.2.10"], records.Where(r => r.DomainName.TrimEnd('.') == "shop.example.com").Select(r => r.Value));
        await vms[0].Changes.DisposeAsync();
    }
}
