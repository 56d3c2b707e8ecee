// Nearly-online migration of a two-VM application into whitesky (the embedded emulator), end to end:
//   1. two qcow2 source disks with persistent dirty bitmaps, exported by qemu-nbd; a "guest" keeps writing to each;
//   2. each disk replicates into a whitesky disk exposed over NBD TLS-PSK: initial sync, then incremental passes of
//      what the bitmap (narrowed by 4 KiB hashes) says changed, until the delta is small;
//   3. the cutover: pre-checks, stop both guests, final syncs in parallel, create and start the VMs through the API,
//      validate, switch the DNS record, and print the downtime report; then check the disks hold the final content.
// Usage: dotnet run --project samples/Whitesky.Samples.NearlyOnline [-- --size 1G --rate 4M --until-delta 2M --json FILE]
using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using Whitesky.Api;
using Whitesky.Api.Models;
using Whitesky.Emulator;
using Whitesky.Migration.Cutover;
using Whitesky.Migration.Replication;
using Whitesky.Samples.NearlyOnline;

var size = Option(args, "--size", 256L << 20);
var rate = Option(args, "--rate", 2L << 20);
var untilDelta = Option(args, "--until-delta", 2L << 20);
var jsonPath = args.SkipWhile(a => a != "--json").Skip(1).FirstOrDefault();
using var cancel = new CancellationTokenSource();
Console.CancelKeyPress += (_, e) => { e.Cancel = true; cancel.Cancel(); };
var ct = cancel.Token;

var folder = Directory.CreateTempSubdirectory("nearly-online-").FullName;
try
{
    await using var emulator = await WhiteskyEmulator.StartAsync(new WhiteskyEmulatorOptions { DataDirectory = Path.Combine(folder, "whitesky") });
    using var client = WhiteskyClient.Create(new WhiteskyClientOptions
    {
        BaseUrl = emulator.BaseUrl,
        Jwt = emulator.Jwt,
        IamUrl = emulator.IamUrl,
        CustomerId = emulator.CustomerId,
        CloudspaceId = emulator.CloudspaceId,
        Location = emulator.Location,
        PollInterval = TimeSpan.FromMilliseconds(20),
    });
    Console.WriteLine($"whitesky emulator at {emulator.BaseUrl}; sources: 2 x {Bytes(size)} qcow2, guests writing {Bytes(rate)}/s each");
    await client.AddDnsRecordAsync(new AddDnsRecordRequest { Domain = "shop.example.com", Type = "A", Value = "192.0.2.10" }, ct);

    // 1. The sources, running.
    await using var web = await SourceVm.CreateAsync(folder, "web", size, rate, ct);
    await using var db = await SourceVm.CreateAsync(folder, "db", size, rate, ct);
    web.StartWriting(1);
    db.StartWriting(2);

    // 2. Replication of both VMs, side by side.
    var replicas = await Task.WhenAll(new[] { web, db }.Select(vm => ReplicateAsync(vm, ct)));

    // One VM may have converged long before the other: a joint catch-up pass of both right before the cutover keeps
    // every final delta small (more rounds while a delta is above the cutover's pre-check limit).
    var maxDelta = 16 * untilDelta;
    for (var round = 0; round == 0 || (round < 5 && replicas.Any(r => r.Session.State.LastPass!.BytesChanged > maxDelta)); round++)
    {
        await Task.WhenAll(replicas.Select(r => r.Session.RunPassAsync(cancellationToken: ct)));
    }

    // 3. The cutover.
    var targets = new Dictionary<string, WhiteskyCutoverTarget>();
    var plan = new CutoverPlan
    {
        Application = "shop",
        MaxDeltaBytes = maxDelta,
        Dns = new WhiteskyDnsSwitch(client, [new DnsRecordChange("shop.example.com", "A", "192.0.2.20")]),
        ValidationTimeout = TimeSpan.FromSeconds(30),
        ProbeInterval = TimeSpan.FromMilliseconds(20),
        Vms = [.. replicas.Select(r =>
        {
            var target = targets[r.Vm.Name] = new WhiteskyCutoverTarget(client,
                new WhiteskyVmDefinition { Name = r.Vm.Name, VCpus = 2, MemoryMiB = 2048, BootDiskId = r.Disk.DiskId });
            return ReplicatedVm.Create(r.Vm.Name, [(r.Session, r.Disk)],
                stopSource: _ => r.Vm.StopAsync(),
                restartSource: _ =>
                {
                    r.Vm.StartWriting(3);
                    return Task.CompletedTask;
                },
                target,
                probes:
                [
                    // The emulator runs no guests: validation asks the platform that the VM runs on its replicated boot disk.
                    new DelegateProbe($"{r.Vm.Name} running on disk {r.Disk.DiskId}", async token =>
                    {
                        var vm = await client.GetVirtualMachineAsync(target.VmId!.Value, token);
                        if (vm.Status != "RUNNING" || vm.BootDiskId != r.Disk.DiskId)
                        {
                            throw new HealthProbeException($"{r.Vm.Name} is {vm.Status} on disk {vm.BootDiskId}");
                        }
                    }),
                ]);
        })],
    };

    Console.WriteLine();
    var report = await new CutoverRunner().RunAsync(plan, new Progress<CutoverProgress>(p =>
    {
        if (p.Finished)
        {
            Console.WriteLine($"  cutover: {p.Step}{(p.Vm is null ? "" : " " + p.Vm)} {(p.Error is null ? "done" : "FAILED: " + p.Error)}");
        }
    }), ct);
    Console.WriteLine();
    Console.WriteLine(report.ToText());

    // The target disks hold exactly the sources' final content.
    var equal = true;
    foreach (var r in replicas)
    {
        var source = await r.Vm.HashAsync(ct);
        var disk = await HashPrefixAsync(Path.Combine(emulator.DataDirectory, "disks", $"disk-{r.Disk.DiskId}.raw"), size, ct);
        equal &= source == disk;
        Console.WriteLine($"  {r.Vm.Name}: source {source[..16]}… target disk {r.Disk.DiskId} {disk[..16]}… {(source == disk ? "equal" : "DIFFERENT")}");
    }

    var dns = (await client.ListDnsRecordsAsync(cancellationToken: ct)).Where(d => d.DomainName.TrimEnd('.') == "shop.example.com").Select(d => d.Value);
    Console.WriteLine($"  shop.example.com A {string.Join(", ", dns)}");

    if (jsonPath is not null)
    {
        await File.WriteAllTextAsync(jsonPath, JsonSerializer.Serialize(new
        {
            size,
            rate,
            succeeded = report.Succeeded,
            equal,
            downtime_seconds = report.Downtime?.TotalSeconds,
            vms = replicas.Select(r => new
            {
                name = r.Vm.Name,
                passes = r.Session.State.Passes.Select((p, i) => new
                {
                    pass = p.Pass,
                    final_pass = p.Final,
                    changed_bytes = p.BytesChanged,
                    guest_changed_bytes = r.GuestChanged.ElementAtOrDefault(i),
                    sent_bytes = p.BytesSent,
                    zeroed_bytes = p.BytesZeroed,
                    requests = p.Requests,
                    seconds = p.Duration.TotalSeconds,
                }),
            }),
        }), ct);
    }

    return report.Succeeded && equal ? 0 : 1;

    async Task<Replica> ReplicateAsync(SourceVm vm, CancellationToken token)
    {
        var changes = await DirtyBitmapChangeSource.ConnectAsync(vm.Export, SourceVm.Bitmap, new DirtyBitmapChangeSourceOptions { HashBlockSize = 4096 }, token);
        var disk = await WhiteskyDiskTarget.CreateAsync(client, vm.Name + "-boot", changes.Capacity, connections: 2, token);
        var session = await ReplicationSession.OpenAsync(changes, disk.Sink!, new ReplicationOptions { UntilDeltaBytes = untilDelta, MaxPasses = 10 },
            cancellationToken: token);
        var guestChanged = new List<long>();
        session.ProgressChanged += (_, p) =>
        {
            if (p.Stage == ReplicationStage.Scanning)
            {
                // What the guest changed since the previous scan (the previous pass's entry is what this scan finds).
                guestChanged.Add(vm.TakeChangedBytes());
            }

            if (p.Completed is { } pass)
            {
                Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                    $"  {vm.Name} {(pass.Pass == 0 ? "initial sync" : pass.Final ? "final sync" : $"pass {pass.Pass}"),-12} changed {Bytes(pass.BytesChanged),8} in {pass.Ranges,5} ranges, sent {Bytes(pass.BytesSent),8}, {pass.Duration.TotalSeconds,6:0.000} s, trend {pass.Trend}"));
            }
        };
        var reason = await session.ReplicateAsync(cancellationToken: token);
        Console.WriteLine($"  {vm.Name}: passes stop ({reason}); ready to cut over");
        return new Replica(vm, changes, disk, session, guestChanged);
    }
}
finally
{
    Directory.Delete(folder, recursive: true);
}

static long Option(string[] args, string name, long fallback)
{
    var text = args.SkipWhile(a => a != name).Skip(1).FirstOrDefault();
    if (text is null)
    {
        return fallback;
    }

    var unit = char.ToUpperInvariant(text[^1]) switch { 'K' => 1L << 10, 'M' => 1L << 20, 'G' => 1L << 30, _ => 1L };
    return long.Parse(unit == 1 ? text : text[..^1], CultureInfo.InvariantCulture) * unit;
}

static string Bytes(long bytes) => bytes >= 1 << 20
    ? string.Create(CultureInfo.InvariantCulture, $"{bytes / 1048576.0:0.0} MiB")
    : string.Create(CultureInfo.InvariantCulture, $"{bytes / 1024.0:0.0} KiB");

static async Task<string> HashPrefixAsync(string path, long length, CancellationToken token)
{
    using var sha = System.Security.Cryptography.IncrementalHash.CreateHash(System.Security.Cryptography.HashAlgorithmName.SHA256);
    await using var file = File.OpenRead(path);
    var buffer = new byte[4 << 20];
    for (var done = 0L; done < length;)
    {
        var read = await file.ReadAsync(buffer.AsMemory(0, (int)Math.Min(buffer.Length, length - done)), token);
        if (read == 0)
        {
            throw new EndOfStreamException($"{path} is shorter than {length} bytes.");
        }

        sha.AppendData(buffer, 0, read);
        done += read;
    }

    return Convert.ToHexString(sha.GetHashAndReset());
}

internal sealed record Replica(SourceVm Vm, DirtyBitmapChangeSource Changes, WhiteskyDiskTarget Disk, ReplicationSession Session, List<long> GuestChanged);
