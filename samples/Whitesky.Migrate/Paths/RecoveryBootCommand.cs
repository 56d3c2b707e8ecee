using System.CommandLine;
using System.Globalization;
using System.Text.Json;
using Whitesky.Api;
using Whitesky.Api.Models;
using Whitesky.Migrate.Cli;
using Whitesky.Migration.Paths.Recovery;

namespace Whitesky.Migrate.Paths;

/// <summary>
/// <c>recovery-boot (--iso FILE | --cdrom-id N | --acronis | --veeam) --disk-size GB</c> and
/// <c>recovery-boot finish VMID</c>: path C (<see cref="RecoveryBootImport"/>).
/// </summary>
internal static class RecoveryBootCommand
{
    public static Command Create(Option<bool> verbose)
    {
        var iso = new Option<string?>("--iso") { Description = "The backup vendor's recovery ISO to upload (parts in parallel, resumable with --checkpoint).", HelpName = "FILE" };
        var cdromId = new Option<long?>("--cdrom-id") { Description = "A CD-ROM image already uploaded to the location.", HelpName = "N" };
        var acronis = new Option<bool>("--acronis") { Description = "Boot the platform's Acronis recovery." };
        var veeam = new Option<bool>("--veeam") { Description = "Boot the platform's Veeam recovery." };
        var diskSize = new Option<long>("--disk-size") { Description = "The empty boot disk's size in GB, the size the backup restores into.", HelpName = "GB", Required = true };
        var vmName = new Option<string>("--vm-name") { Description = "The VM's name.", DefaultValueFactory = _ => "recovery-" + DateTime.UtcNow.ToString("yyyyMMdd-HHmmss", CultureInfo.InvariantCulture), HelpName = "NAME" };
        var vcpus = new Option<int>("--vcpus") { Description = "Virtual CPUs.", DefaultValueFactory = _ => 2 };
        var memory = new Option<int>("--memory") { Description = "Memory in MiB.", DefaultValueFactory = _ => 4096, HelpName = "MIB" };
        var bootType = new Option<string?>("--boot-type") { Description = "The restored system's boot type: bios, uefi or uefi-secure-boot.", HelpName = "TYPE" };
        var osType = new Option<string?>("--os-type") { Description = "The restored system's OS family (Linux, Windows, ...).", HelpName = "TYPE" };
        var osName = new Option<string?>("--os-name") { Description = "The restored system's OS as whitesky names it.", HelpName = "NAME" };
        var checkpoint = new Option<string?>("--checkpoint") { Description = "A file recording the ISO upload: running again sends only the missing parts.", HelpName = "FILE" };
        var noStart = new Option<bool>("--no-start") { Description = "Create the VM but do not start it." };
        var json = new Option<bool>("--json") { Description = "Print the result as JSON on standard output." };
        var connection = new WhiteskyConnection.Options();
        var command = new Command("recovery-boot", "Boot an empty VM from a backup vendor's recovery media (uploaded ISO, CD-ROM image, Acronis or Veeam) to restore into it.")
        {
            iso, cdromId, acronis, veeam, diskSize, vmName, vcpus, memory, bootType, osType, osName, checkpoint, noStart, json, Finish(verbose),
        };
        connection.AddTo(command);
        command.Validators.Add(result =>
        {
            var count = (result.GetValue(iso) is null ? 0 : 1) + (result.GetValue(cdromId) is null ? 0 : 1) + (result.GetValue(acronis) ? 1 : 0) + (result.GetValue(veeam) ? 1 : 0);
            if (count != 1)
            {
                result.AddError("Give exactly one of --iso FILE, --cdrom-id N, --acronis, --veeam.");
            }
        });
        command.SetAction((parseResult, cancellationToken) => CommandExecution.RunAsync(parseResult, verbose, async (context, ct) =>
        {
            var options = new RecoveryBootOptions
            {
                IsoPath = parseResult.GetValue(iso),
                CdromId = parseResult.GetValue(cdromId),
                Acronis = parseResult.GetValue(acronis),
                Veeam = parseResult.GetValue(veeam),
                DiskSizeGb = parseResult.GetValue(diskSize),
                VmName = parseResult.GetValue(vmName)!,
                VCpus = parseResult.GetValue(vcpus),
                MemoryMiB = parseResult.GetValue(memory),
                BootType = parseResult.GetValue(bootType) is { } b ? new BootType(b.ToLowerInvariant()) : null,
                OsType = parseResult.GetValue(osType) is { } t ? new OsType(t) : null,
                OsName = parseResult.GetValue(osName) is { } n ? new OsName(n) : null,
                UploadCheckpointPath = parseResult.GetValue(checkpoint),
                Start = !parseResult.GetValue(noStart),
            };
            if (options.IsoPath is { } path && !File.Exists(path))
            {
                throw new CommandFailedException($"{path}: no such file.");
            }

            if (options.DiskSizeGb is < 1 or > 65536)
            {
                throw new CommandFailedException("--disk-size must be from 1 to 65536 GB.");
            }

            await using var whitesky = await WhiteskyConnection.OpenAsync(connection.Read(parseResult), context, ct);
            var terminal = ReferenceEquals(context.Error, Console.Error) && !Console.IsErrorRedirected;
            var progress = new UploadProgress(context.Error, terminal);
            RecoveryBootResult result;
            try
            {
                result = await new RecoveryBootImport(whitesky.Client, context.LoggerFactory).StartAsync(options, progress, ct);
            }
            catch (Exception ex) when (ex is RecoveryBootException or RecoveryBootCanceledException)
            {
                progress.End();
                await context.Error.WriteLineAsync($"{MigrateCommandLine.ToolName}: {ex.Message}");
                return ex is RecoveryBootCanceledException ? CommandExecution.Cancelled
                    : ex.InnerException is WhiteskyApiException ? PathExitCodes.PlatformError : PathExitCodes.ImportFailed;
            }

            progress.End();
            if (parseResult.GetValue(json))
            {
                await context.Output.WriteLineAsync(JsonSerializer.Serialize(new RecoveryBootReport(result.VmId, result.BootDiskId, result.DiskSizeGb, result.Medium.ToString(),
                    result.CdromId, result.Upload?.Bytes, result.Upload?.PartsSent, result.Upload?.PartsResumed, result.VmStatus, result.Instructions),
                    PathsJsonContext.Default.RecoveryBootReport));
                return CommandExecution.Success;
            }

            if (result.Upload is { } upload)
            {
                await context.Output.WriteLineAsync(string.Create(CultureInfo.InvariantCulture,
                    $"Uploaded {ByteSize.Format(upload.Bytes)} as CD-ROM image {result.CdromId}: {upload.PartsSent} part(s) sent, {upload.PartsResumed} resumed."));
            }

            await context.Output.WriteLineAsync(string.Create(CultureInfo.InvariantCulture,
                $"Created VM {result.VmId} ({result.Medium}) with an empty {result.DiskSizeGb} GB boot disk {result.BootDiskId}; status {result.VmStatus}."));
            await context.Output.WriteLineAsync(result.Instructions);
            if (whitesky.Emulator is not null)
            {
                await context.Output.WriteLineAsync("(This went into an embedded emulator that stops with the command; set WHITESKY_URL and WHITESKY_TOKEN for a real whitesky.)");
            }

            return CommandExecution.Success;
        }, cancellationToken));
        return command;
    }

    private static Command Finish(Option<bool> verbose)
    {
        var vmId = new Argument<long>("VMID") { Description = "The VM recovery-boot created." };
        var bootDisk = new Option<long?>("--boot-disk-id") { Description = "The disk to boot from (default: the VM's boot disk, where the restore went).", HelpName = "N" };
        var noRestart = new Option<bool>("--no-restart") { Description = "Do not stop and start the VM around the change." };
        var json = new Option<bool>("--json") { Description = "Print the result as JSON on standard output." };
        var connection = new WhiteskyConnection.Options();
        var command = new Command("finish", "After the vendor's restore: detach the recovery CD-ROM and boot the VM from its disk.") { vmId, bootDisk, noRestart, json };
        connection.AddTo(command);
        command.SetAction((parseResult, cancellationToken) => CommandExecution.RunAsync(parseResult, verbose, async (context, ct) =>
        {
            await using var whitesky = await WhiteskyConnection.OpenAsync(connection.Read(parseResult), context, ct);
            RecoveryFinishResult result;
            try
            {
                result = await new RecoveryBootImport(whitesky.Client, context.LoggerFactory)
                    .FinishAsync(parseResult.GetValue(vmId), parseResult.GetValue(bootDisk), !parseResult.GetValue(noRestart), ct);
            }
            catch (RecoveryBootException ex)
            {
                await context.Error.WriteLineAsync($"{MigrateCommandLine.ToolName}: {ex.Message}");
                return ex.InnerException is WhiteskyApiException ? PathExitCodes.PlatformError : PathExitCodes.ImportFailed;
            }

            if (parseResult.GetValue(json))
            {
                await context.Output.WriteLineAsync(JsonSerializer.Serialize(new RecoveryFinishReport(result.VmId, result.BootDiskId, result.DetachedCdromIds, result.Restarted, result.VmStatus),
                    PathsJsonContext.Default.RecoveryFinishReport));
                return CommandExecution.Success;
            }

            await context.Output.WriteLineAsync(string.Create(CultureInfo.InvariantCulture,
                $"VM {result.VmId} boots from disk {result.BootDiskId}; detached CD-ROM image(s): {(result.DetachedCdromIds.Count == 0 ? "none" : string.Join(", ", result.DetachedCdromIds))}; status {result.VmStatus}."));
            return CommandExecution.Success;
        }, cancellationToken));
        return command;
    }

    /// <summary>The ISO upload as a bar with rate on a terminal; phase lines otherwise.</summary>
    private sealed class UploadProgress(TextWriter writer, bool terminal) : IProgress<RecoveryBootProgress>
    {
        private readonly Lock _lock = new();
        private RecoveryBootPhase? _phase;
        private bool _bar;

        public void Report(RecoveryBootProgress value)
        {
            lock (_lock)
            {
                if (_phase != value.Phase)
                {
                    EndLocked();
                    _phase = value.Phase;
                    writer.WriteLine($"recovery-boot: {Describe(value.Phase)}");
                }

                if (terminal && value.Phase == RecoveryBootPhase.Uploading && value.TotalBytes > 0)
                {
                    var fraction = Math.Clamp((double)value.UploadedBytes / value.TotalBytes, 0, 1);
                    var eta = value.BytesPerSecond > 0 ? TimeSpan.FromSeconds(Math.Ceiling((value.TotalBytes - value.UploadedBytes) / value.BytesPerSecond)) : TimeSpan.Zero;
                    writer.Write(string.Create(CultureInfo.InvariantCulture,
                        $"\r[{new string('#', (int)(fraction * 30))}{new string('.', 30 - (int)(fraction * 30))}] {100 * fraction,5:0.0}% {ByteSize.Format(value.UploadedBytes)} of {ByteSize.Format(value.TotalBytes)}, {ByteSize.Format((long)value.BytesPerSecond)}/s, ETA {eta:hh\\:mm\\:ss}   "));
                    _bar = true;
                }

                writer.Flush();
            }
        }

        private static string Describe(RecoveryBootPhase phase) => phase switch
        {
            RecoveryBootPhase.Uploading => "uploading the ISO",
            RecoveryBootPhase.CreatingVm => "creating the VM with an empty boot disk and the medium",
            RecoveryBootPhase.Starting => "starting the VM",
            _ => "done",
        };

        public void End()
        {
            lock (_lock)
            {
                EndLocked();
            }
        }

        private void EndLocked()
        {
            if (_bar)
            {
                writer.WriteLine();
                _bar = false;
            }
        }
    }
}
