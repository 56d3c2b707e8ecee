using System.CommandLine;
using System.Diagnostics;
using System.Globalization;
using System.Net;
using Whitesky.Api;
using Whitesky.Api.Models;
using Whitesky.Migrate.Replicate;
using Whitesky.Migration.Cutover;
using Whitesky.Migration.Replication;

namespace Whitesky.Migrate.Cli;

/// <summary>
/// <c>cutover PLAN.json</c>: resumes each disk's replication session from its state, then runs the plan — pre-checks,
/// stop hooks, parallel final syncs, target VMs created and started through the API, probes, DNS switch, rollback —
/// and prints the downtime report on standard output (exit code 1 when the cutover failed).
/// </summary>
internal static class CutoverCommand
{
    public static Command Create(Option<bool> verbose)
    {
        var plan = new Argument<string>("PLAN") { Description = "The cutover plan (JSON; see docs/nearly-online.md)." };
        var command = new Command("cutover", "Cut an application over: stop the sources, final sync, start the whitesky VMs, validate, switch DNS, or roll back.") { plan };
        command.SetAction((parseResult, cancellationToken) => CommandExecution.RunAsync(parseResult, verbose,
            (context, ct) => RunAsync(context, parseResult.GetValue(plan)!, ct), cancellationToken));
        return command;
    }

    private static async Task<int> RunAsync(CommandContext context, string path, CancellationToken cancellationToken)
    {
        var file = await CutoverPlanFile.LoadAsync(path, cancellationToken);
        using var client = WhiteskyEnvironment.CreateClient();
        var opened = new List<IAsyncDisposable>();
        try
        {
            var vms = new List<CutoverVm>();
            foreach (var vm in file.Vms)
            {
                if (vm.Disks.Count == 0)
                {
                    throw new CommandFailedException($"VM {vm.Name} in {path} has no disks.");
                }

                var disks = new List<(ReplicationSession, WhiteskyDiskTarget?)>();
                foreach (var disk in vm.Disks)
                {
                    var changes = await ReplicationEndpoints.OpenSourceAsync(disk.Source, disk.ChangeSource, disk.Layers, cancellationToken);
                    opened.Add(changes);
                    var target = await WhiteskyDiskTarget.OpenAsync(client, disk.DiskId, cancellationToken: cancellationToken);
                    opened.Add(target);
                    var session = await ReplicationSession.OpenAsync(changes, target.Sink!, new ReplicationOptions { StatePath = disk.State },
                        loggerFactory: context.LoggerFactory, cancellationToken: cancellationToken);
                    if (!session.Resumed)
                    {
                        throw new CommandFailedException($"Disk {disk.DiskId} of {vm.Name} has no replication state at {disk.State}: run 'replicate --state' first.");
                    }

                    session.ProgressChanged += (_, p) => new ReplicateCommand.PassPrinter(context.Error, $"{vm.Name}: ").Report(p);
                    disks.Add((session, target));
                }

                var definition = new WhiteskyVmDefinition
                {
                    Name = vm.Target.Name ?? vm.Name,
                    VCpus = vm.Target.Vcpus,
                    MemoryMiB = vm.Target.MemoryMib,
                    BootDiskId = vm.Disks[0].DiskId,
                    DataDiskIds = [.. vm.Disks.Skip(1).Select(d => d.DiskId)],
                    BootType = vm.Target.BootType is { } bootType ? ParseBootType(vm.Name, bootType) : null,
                    VmId = vm.Target.VmId,
                };
                vms.Add(ReplicatedVm.Create(vm.Name, disks, ct => ShellAsync(vm.Stop, ct),
                    vm.Restart is { } restart ? ct => ShellAsync(restart, ct) : null,
                    new WhiteskyCutoverTarget(client, definition),
                    [.. vm.Probes.Select(p => Probe(vm.Name, p))]));
            }

            var plan = new CutoverPlan
            {
                Application = file.Application,
                Vms = vms,
                MaxDeltaBytes = file.MaxDeltaBytes,
                MaxReplicationAge = file.MaxReplicationAgeSeconds is { } age ? TimeSpan.FromSeconds(age) : null,
                DnsNames = file.DnsNames,
                MaxDnsTtl = TimeSpan.FromSeconds(file.MaxDnsTtlSeconds),
                DnsServer = file.DnsServer is { } server ? IPEndPoint.Parse(server) : null,
                Dns = file.DnsRecords.Count == 0 ? null : new WhiteskyDnsSwitch(client, [.. file.DnsRecords.Select(r => new DnsRecordChange(r.Domain, r.Type, r.Value))]),
                ValidationTimeout = TimeSpan.FromSeconds(file.ValidationTimeoutSeconds),
                ProbeInterval = TimeSpan.FromSeconds(file.ProbeIntervalSeconds),
                RollbackOnFailure = file.Rollback,
            };

            var progress = new StepPrinter(context.Error);
            var report = await new CutoverRunner(context.LoggerFactory).RunAsync(plan, progress, cancellationToken);
            await context.Output.WriteLineAsync(report.ToText());
            return report.Succeeded ? CommandExecution.Success : CommandExecution.Failure;
        }
        finally
        {
            for (var i = opened.Count - 1; i >= 0; i--)
            {
                await opened[i].DisposeAsync();
            }
        }
    }

    private static BootType ParseBootType(string vm, string text)
    {
        foreach (var known in BootType.Known)
        {
            if (string.Equals(known.Value, text, StringComparison.OrdinalIgnoreCase))
            {
                return known;
            }
        }

        throw new CommandFailedException($"boot_type {text} of {vm} is not bios, uefi or uefi-secure-boot.");
    }

    private static IHealthProbe Probe(string vm, ProbeFile probe)
    {
        if (probe.Tcp is { } tcp)
        {
            var colon = tcp.LastIndexOf(':');
            if (colon <= 0 || !int.TryParse(tcp[(colon + 1)..], CultureInfo.InvariantCulture, out var port))
            {
                throw new CommandFailedException($"The tcp probe '{tcp}' of {vm} is not host:port.");
            }

            return new TcpProbe(tcp[..colon].Trim('[', ']'), port);
        }

        if (probe.Http is { } http)
        {
            return new HttpProbe(new Uri(http), probe.Status is { } status ? (HttpStatusCode)status : null, probe.Contains);
        }

        if (probe.Command is { } command)
        {
            return new DelegateProbe(command, async ct =>
            {
                var code = await RunShellAsync(command, ct);
                if (code != 0)
                {
                    throw new HealthProbeException(string.Create(CultureInfo.InvariantCulture, $"'{command}' exited with {code}"));
                }
            });
        }

        throw new CommandFailedException($"A probe of {vm} names none of tcp, http, command.");
    }

    private static async Task ShellAsync(string command, CancellationToken cancellationToken)
    {
        var code = await RunShellAsync(command, cancellationToken);
        if (code != 0)
        {
            throw new CommandFailedException(string.Create(CultureInfo.InvariantCulture, $"The hook '{command}' exited with {code}."));
        }
    }

    private static async Task<int> RunShellAsync(string command, CancellationToken cancellationToken)
    {
        using var process = Process.Start(new ProcessStartInfo("/bin/sh") { ArgumentList = { "-c", command }, UseShellExecute = false })
            ?? throw new CommandFailedException($"Could not start /bin/sh for '{command}'.");
        try
        {
            await process.WaitForExitAsync(cancellationToken);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            throw;
        }

        return process.ExitCode;
    }

    /// <summary>One line per finished step on standard error.</summary>
    private sealed class StepPrinter(TextWriter error) : IProgress<CutoverProgress>
    {
        public void Report(CutoverProgress value)
        {
            if (!value.Finished)
            {
                return;
            }

            lock (error)
            {
                error.WriteLine($"{value.Step}{(value.Vm is null ? string.Empty : " " + value.Vm)}: {(value.Error is null ? "done" : "FAILED: " + value.Error)}");
                error.Flush();
            }
        }
    }
}
