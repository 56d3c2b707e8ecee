using System.CommandLine;
using System.Globalization;
using System.Text.Json;
using Whitesky.Api;
using Whitesky.Api.Models;
using Whitesky.Migrate.Cli;
using Whitesky.Migration.Paths.Streaming;
using Whitesky.Migration.Transfer;

namespace Whitesky.Migrate.Paths;

/// <summary>
/// <c>import disk IMAGE... [--vm-id N | --vm-name NAME ...]</c>: path B, each image streamed into a new whitesky disk
/// over NBD with TLS-PSK (<see cref="StreamingDiskImport"/>), then attached to a VM or made into one.
/// </summary>
internal static class ImportDiskCommand
{
    /// <summary>The <c>import</c> group with its <c>disk</c> command (other paths add theirs beside it).</summary>
    public static Command CreateGroup(Option<bool> verbose) => new("import", "Import disk images or packages into whitesky.") { Create(verbose) };

    public static Command Create(Option<bool> verbose)
    {
        var images = new Argument<string[]>("IMAGE") { Description = "Disk images (raw, qcow2, vmdk, vhd, vhdx, vdi); with a VM, the first is its boot disk.", Arity = ArgumentArity.OneOrMore };
        var vmId = new Option<long?>("--vm-id") { Description = "Attach the imported disks to this existing VM.", HelpName = "N" };
        var vmName = new Option<string?>("--vm-name") { Description = "Create a VM of this name booting from the first disk.", HelpName = "NAME" };
        var vcpus = new Option<int>("--vcpus") { Description = "The new VM's virtual CPUs.", DefaultValueFactory = _ => 2 };
        var memory = new Option<int>("--memory") { Description = "The new VM's memory in MiB.", DefaultValueFactory = _ => 2048, HelpName = "MIB" };
        var bootType = new Option<string?>("--boot-type") { Description = "bios, uefi or uefi-secure-boot (default: from the first image's partition table).", HelpName = "TYPE" };
        var osType = new Option<string?>("--os-type") { Description = "The new VM's OS family (Linux, Windows, ...).", HelpName = "TYPE" };
        var osName = new Option<string?>("--os-name") { Description = "The new VM's OS as whitesky names it (\"Ubuntu 20.04\", \"Windows Server 2019\", ...).", HelpName = "NAME" };
        var start = new Option<bool>("--start") { Description = "Start the new VM." };
        var keep = new Option<bool>("--keep-disk-on-failure") { Description = "Keep the created disks when the import fails or is cancelled (to resume with --checkpoint)." };
        var checkpoint = new Option<string?>("--checkpoint") { Description = "A folder for checkpoints: running the same command again continues into the kept disks, sending only what is missing.", HelpName = "DIR" };
        var noGpt = new Option<bool>("--no-gpt-relocation") { Description = "Leave a GPT's backup header where the image ended (by default it moves to the end of the larger disk)." };
        var connections = new Option<int>("--connections", "-C") { Description = "NBD connections per disk (the exposure's max_connections).", DefaultValueFactory = _ => Math.Clamp(Environment.ProcessorCount, 1, 4) };
        var progress = new Option<bool>("--progress", "-p") { Description = "Print progress to standard error (on by default on a terminal)." };
        var json = new Option<bool>("--json") { Description = "Print the result as JSON on standard output." };
        var connection = new WhiteskyConnection.Options();
        var command = new Command("disk", "Stream disk images into new whitesky disks over NBD (TLS-PSK), then attach them to a VM or create one.")
        {
            images, vmId, vmName, vcpus, memory, bootType, osType, osName, start, keep, checkpoint, noGpt, connections, progress, json,
        };
        connection.AddTo(command);
        command.Validators.Add(result =>
        {
            if (result.GetValue(vmId) is not null && result.GetValue(vmName) is not null)
            {
                result.AddError("Give --vm-id (attach to an existing VM) or --vm-name (create one), not both.");
            }

            if (result.GetValue(bootType) is { } type && !BootType.Known.Any(k => string.Equals(k.ToString(), type, StringComparison.OrdinalIgnoreCase)))
            {
                result.AddError($"--boot-type {type} is not one of bios, uefi, uefi-secure-boot.");
            }
        });
        command.SetAction((parseResult, cancellationToken) => CommandExecution.RunAsync(parseResult, verbose, async (context, ct) =>
        {
            var name = parseResult.GetValue(vmName);
            var type = parseResult.GetValue(bootType);
            var options = new StreamingImportOptions
            {
                Disks = [.. parseResult.GetValue(images)!.Select(i => new StreamingImportSource { ImagePath = i })],
                VmId = parseResult.GetValue(vmId),
                NewVm = name is null ? null : new StreamingImportVm
                {
                    Name = name,
                    VCpus = parseResult.GetValue(vcpus),
                    MemoryMiB = parseResult.GetValue(memory),
                    BootType = type is null ? null : new BootType(type.ToLowerInvariant()),
                    OsType = parseResult.GetValue(osType) is { } os ? new OsType(os) : null,
                    OsName = parseResult.GetValue(osName) is { } osn ? new OsName(osn) : null,
                    Start = parseResult.GetValue(start),
                },
                KeepDisksOnFailure = parseResult.GetValue(keep),
                CheckpointDirectory = parseResult.GetValue(checkpoint),
                RelocateGptBackup = !parseResult.GetValue(noGpt),
                MaxConnections = Math.Clamp(parseResult.GetValue(connections), 1, 64),
            };
            return await RunAsync(context, connection.Read(parseResult), options, parseResult.GetValue(progress), parseResult.GetValue(json), ct);
        }, cancellationToken));
        return command;
    }

    private static async Task<int> RunAsync(CommandContext context, WhiteskyConnection.Settings settings, StreamingImportOptions options, bool progress, bool json,
        CancellationToken cancellationToken)
    {
        foreach (var image in options.Disks.Where(d => !File.Exists(d.ImagePath)))
        {
            throw new CommandFailedException($"{image.ImagePath}: no such file.");
        }

        await using var connection = await WhiteskyConnection.OpenAsync(settings, context, cancellationToken);
        var terminal = ReferenceEquals(context.Error, Console.Error) && !Console.IsErrorRedirected;
        using var bar = progress || terminal ? new ImportProgressBar(context.Error, terminal, options.Disks.Count) : null;
        var import = new StreamingDiskImport(connection.Client, new DiskTransferOptions(), context.LoggerFactory);
        StreamingImportResult result;
        try
        {
            result = await import.ImportAsync(options, bar, cancellationToken);
        }
        catch (StreamingImportCanceledException ex)
        {
            bar?.Dispose();
            await context.Error.WriteLineAsync($"{MigrateCommandLine.ToolName}: {ex.Message}");
            return CommandExecution.Cancelled;
        }
        catch (StreamingImportException ex)
        {
            bar?.Dispose();
            await context.Error.WriteLineAsync($"{MigrateCommandLine.ToolName}: {ex.Message}");
            return ex.InnerException is WhiteskyApiException ? PathExitCodes.PlatformError : PathExitCodes.ImportFailed;
        }

        bar?.Dispose();
        if (json)
        {
            var report = new ImportDiskReport(result.VmId, result.VmCreated, result.BootType, result.Duration.TotalSeconds, [.. result.Disks.Select(d => new ImportedDiskReport(
                d.ImagePath, d.Format, d.ImageBytes, d.DiskId, d.DiskSizeGb, !d.Created, d.Layout.Scheme.ToString(), d.Layout.BootMode.ToString(),
                d.Transfer.BytesWritten, d.Transfer.BytesSkipped, d.Transfer.BytesZeroed, d.Transfer.BytesResumed, d.Transfer.Duration.TotalSeconds,
                d.GptRelocation?.Moved ?? false))]);
            await context.Output.WriteLineAsync(JsonSerializer.Serialize(report, PathsJsonContext.Default.ImportDiskReport));
            return CommandExecution.Success;
        }

        await context.Output.WriteLineAsync(string.Create(CultureInfo.InvariantCulture, $"Imported {result.Disks.Count} disk(s) in {result.Duration.TotalSeconds:0.0} s:"));
        foreach (var d in result.Disks)
        {
            var t = d.Transfer;
            var gpt = d.GptRelocation is { Moved: true } ? "; GPT backup header moved to the end of the disk" : string.Empty;
            var resumed = t.BytesResumed > 0 ? $", {ByteSize.Format(t.BytesResumed)} done by an earlier run" : string.Empty;
            await context.Output.WriteLineAsync(string.Create(CultureInfo.InvariantCulture,
                $"  disk {d.DiskId} ({d.DiskSizeGb} GB) <- {d.ImagePath} ({d.Format}, {ByteSize.Format(d.ImageBytes)}, {d.Layout.Scheme} partitions, boot mode {d.Layout.BootMode})"));
            await context.Output.WriteLineAsync(string.Create(CultureInfo.InvariantCulture,
                $"    {ByteSize.Format(t.BytesWritten)} of data sent over NBD/TLS-PSK, {ByteSize.Format(t.BytesSkipped + t.BytesZeroed)} of zeroes not sent{resumed}, {t.Duration.TotalSeconds:0.00} s at {ByteSize.Format((long)t.AverageBytesPerSecond)}/s{gpt}"));
        }

        if (result.VmId is { } vm)
        {
            await context.Output.WriteLineAsync(result.VmCreated
                ? string.Create(CultureInfo.InvariantCulture, $"Created VM {vm} ({result.BootType}) booting from disk {result.Disks[0].DiskId}{(result.Disks.Count > 1 ? $" with {result.Disks.Count - 1} data disk(s)" : string.Empty)}.")
                : string.Create(CultureInfo.InvariantCulture, $"Attached the disk(s) to VM {vm}."));
        }

        if (connection.Emulator is { } emulator)
        {
            await context.Output.WriteLineAsync($"(This went into an embedded emulator that stops with the command; set WHITESKY_URL and WHITESKY_TOKEN for a real whitesky.)");
        }

        return CommandExecution.Success;
    }
}
