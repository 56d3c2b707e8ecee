using System.CommandLine;
using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using Whitesky.DiskFormats;
using Whitesky.Migrate.Images;

namespace Whitesky.Migrate.Cli;

/// <summary>
/// <c>inspect</c>, <c>map</c> and <c>convert</c>: any disk image, checked from a shell against <c>qemu-img info</c>,
/// <c>qemu-img map</c> and <c>qemu-img convert</c>.
/// </summary>
internal static class ImageCommands
{
    public static IEnumerable<Command> Create(Option<bool> verbose)
    {
        yield return Inspect(verbose);
        yield return Map(verbose);
        yield return Convert(verbose);
    }

    private static Argument<string> ImageArgument() => new("IMAGE")
    {
        Description = "The disk image (raw, qcow2, vmdk, vhd, vhdx, vdi, ...), a tar or OVA file holding disks, gzip-, zstd- or xz-compressed, a Proxmox VMA archive, or - for standard input.",
    };

    private static Option<string?> FormatOption() => new("--format", "-f")
    {
        Description = "The image's format, when you know it: the content is then not probed (a raw disk is never taken for another format).",
    };

    private static Option<string?> DiskOption() => new("--disk", "--device")
    {
        Description = "Which disk of a tar or OVA file (its entry name; default the first), or which device of a Proxmox VMA archive (name such as drive-scsi0, or dev_id; needed when it has several).",
    };

    private static Command Inspect(Option<bool> verbose)
    {
        var image = ImageArgument();
        var format = FormatOption();
        var json = new Option<bool>("--json") { Description = "Print one JSON document." };
        var device = DiskOption();
        var command = new Command("inspect", "Describe a disk image (or each disk of an archive, each device of a VMA archive): format, subformat, sizes, cluster size, compression, features, parents.") { image, format, json, device };
        command.SetAction((parseResult, cancellationToken) => CommandExecution.RunAsync(parseResult, verbose, async (context, ct) =>
        {
            var path = parseResult.GetValue(image)!;
            if (await IsVmaArchiveAsync(path, parseResult.GetValue(format), ct))
            {
                if (parseResult.GetValue(device) is not { } chosen)
                {
                    await InspectArchiveAsync(context, await VmaImages.DescribeAsync(path, ct), parseResult.GetValue(json));
                    return CommandExecution.Success;
                }

                await using var vmaDisk = await VmaImages.OpenDeviceAsync(path, chosen, ct);
                var vmaReport = await ImageReport.From(await DiskImage.DescribeAsync(vmaDisk, ct)).WithGuestLayoutAsync(vmaDisk, ct);
                if (parseResult.GetValue(json))
                {
                    await context.Output.WriteLineAsync(JsonSerializer.Serialize(vmaReport, ImagesJsonContext.Default.ImageReport));
                }
                else
                {
                    await WriteReportAsync(context.Output, vmaReport, 0);
                }

                return CommandExecution.Success;
            }

            await using var input = await OpenAsync(path, parseResult.GetValue(format), ct);
            var reports = new List<ImageReport>();
            await foreach (var disk in input.ReadDisksAsync(ct))
            {
                reports.Add(disk.RandomAccess is { } randomAccess
                    ? await ImageReport.From(await DiskImage.DescribeAsync(randomAccess, ct)).WithGuestLayoutAsync(randomAccess, ct)
                    : ImageReport.From(disk.Sequential!.Describe()));
            }

            await input.DrainStandardInputAsync(ct);

            if (input.Container is not { } container)
            {
                if (parseResult.GetValue(json))
                {
                    await context.Output.WriteLineAsync(JsonSerializer.Serialize(reports[0], ImagesJsonContext.Default.ImageReport));
                    return CommandExecution.Success;
                }

                await WriteReportAsync(context.Output, reports[0], 0);
                return CommandExecution.Success;
            }

            if (parseResult.GetValue(json))
            {
                await context.Output.WriteLineAsync(JsonSerializer.Serialize(new ArchiveReport(path, container, reports), ImagesJsonContext.Default.ArchiveReport));
                return CommandExecution.Success;
            }

            await context.Output.WriteLineAsync($"archive: {path}");
            await context.Output.WriteLineAsync($"container: {string.Join('+', container)}");
            await context.Output.WriteLineAsync(string.Create(CultureInfo.InvariantCulture, $"disks: {reports.Count}"));
            foreach (var report in reports)
            {
                await WriteReportAsync(context.Output, report, 1);
            }

            return CommandExecution.Success;
        }, cancellationToken));
        return command;
    }

    private static async Task WriteReportAsync(TextWriter output, ImageReport report, int baseDepth)
    {
        for (var (layer, depth) = (report, baseDepth); layer is not null; (layer, depth) = (layer.Backing, depth + 1))
        {
            var indent = new string(' ', depth * 2);
            await output.WriteLineAsync($"{indent}image: {layer.Filename}");
            await output.WriteLineAsync($"{indent}format: {layer.Format}{(layer.Subformat is null ? "" : " (" + layer.Subformat + ")")}");
            await output.WriteLineAsync(string.Create(CultureInfo.InvariantCulture, $"{indent}virtual size: {layer.VirtualSize} bytes"));
            await output.WriteLineAsync(string.Create(CultureInfo.InvariantCulture, $"{indent}file size: {layer.FileSize} bytes"));
            if (layer.BootMode is not null)
            {
                await output.WriteLineAsync($"{indent}partition table: {layer.PartitionTable}, boot mode: {layer.BootMode}");
            }

            if (layer.AllocatedBytes is not null)
            {
                await output.WriteLineAsync(string.Create(CultureInfo.InvariantCulture, $"{indent}allocated: {layer.AllocatedBytes} bytes"));
            }

            if (layer.ClusterSize is { } cluster)
            {
                await output.WriteLineAsync(string.Create(CultureInfo.InvariantCulture, $"{indent}cluster size: {cluster}"));
            }

            if (layer.Compression is not null)
            {
                await output.WriteLineAsync($"{indent}compression: {layer.Compression}");
            }

            if (layer.Features.Count > 0)
            {
                await output.WriteLineAsync($"{indent}features: {string.Join(", ", layer.Features)}");
            }

            if (layer.Backing is not null)
            {
                await output.WriteLineAsync($"{indent}backing:");
            }
        }
    }

    private static Command Map(Option<bool> verbose)
    {
        var image = ImageArgument();
        var format = FormatOption();
        var diskName = DiskOption();
        var json = new Option<bool>("--json") { Description = "Print the map as JSON in the shape of qemu-img map --output=json." };
        var command = new Command("map", "Print a disk image's allocation map from its metadata (data, zero, unallocated); for a stream, from the chunks it carries.") { image, format, diskName, json };
        command.SetAction((parseResult, cancellationToken) => CommandExecution.RunAsync(parseResult, verbose, async (context, ct) =>
        {
            var path = parseResult.GetValue(image)!;
            List<ImageMapEntry> entries;
            if (await IsVmaArchiveAsync(path, parseResult.GetValue(format), ct))
            {
                await using var vmaDisk = await VmaImages.OpenDeviceAsync(path, parseResult.GetValue(diskName), ct);
                entries = await MapAsync(new InputDisk(path, vmaDisk, null), ct);
            }
            else
            {
                await using var input = await OpenAsync(path, parseResult.GetValue(format), ct);
                entries = await input.WithDiskAsync(parseResult.GetValue(diskName), disk => MapAsync(disk, ct), ct);
                await input.DrainStandardInputAsync(ct);
            }

            if (parseResult.GetValue(json))
            {
                await context.Output.WriteLineAsync(JsonSerializer.Serialize<IReadOnlyList<ImageMapEntry>>(entries, ImagesJsonContext.Default.IReadOnlyListImageMapEntry));
                return CommandExecution.Success;
            }

            await context.Output.WriteLineAsync($"{"Offset",-20}{"Length",-20}Kind");
            foreach (var entry in entries)
            {
                var kind = entry.Data ? "data" : entry.Present ? "zero" : "unallocated";
                await context.Output.WriteLineAsync(string.Create(CultureInfo.InvariantCulture, $"{entry.Start,-20}{entry.Length,-20}{kind}"));
            }

            return CommandExecution.Success;
        }, cancellationToken));
        return command;
    }

    private static async Task<List<ImageMapEntry>> MapAsync(InputDisk disk, CancellationToken ct)
    {
        var entries = new List<ImageMapEntry>();
        void Add(long offset, long length, DiskExtentKind kind)
        {
            var entry = new ImageMapEntry(offset, length, 0,
                Present: kind != DiskExtentKind.Unallocated, Zero: kind != DiskExtentKind.Data, Data: kind == DiskExtentKind.Data);
            if (entries.Count > 0 && entries[^1] is var last && last.Start + last.Length == entry.Start
                && (last.Present, last.Zero, last.Data) == (entry.Present, entry.Zero, entry.Data))
            {
                entries[^1] = last with { Length = last.Length + entry.Length };
            }
            else
            {
                entries.Add(entry);
            }
        }

        if (disk.RandomAccess is { } randomAccess)
        {
            await foreach (var extent in randomAccess.GetExtentsAsync(0, randomAccess.Capacity, ct))
            {
                Add(extent.Offset, extent.Length, extent.Kind);
            }

            return entries;
        }

        long position = 0;
        await foreach (var chunk in disk.Sequential!.ReadChunksAsync(ct))
        {
            if (chunk.Offset > position)
            {
                Add(position, chunk.Offset - position, DiskExtentKind.Unallocated);
            }

            Add(chunk.Offset, chunk.Length, chunk.Kind == DiskChunkKind.Data ? DiskExtentKind.Data : DiskExtentKind.Zero);
            position = chunk.End;
        }

        if (position < disk.Capacity)
        {
            Add(position, disk.Capacity - position, DiskExtentKind.Unallocated);
        }

        return entries;
    }

    private static Command Convert(Option<bool> verbose)
    {
        var image = ImageArgument();
        var output = new Argument<string?>("OUT") { Description = "The raw file to write (must not exist).", Arity = ArgumentArity.ZeroOrOne };
        var format = FormatOption();
        var diskName = DiskOption();
        var toNull = new Option<bool>("--null") { Description = "Decode everything and write nothing (measures decoding, like qemu-img convert to null-co)." };
        var command = new Command("convert", "Write the logical content of a disk image (- reads standard input, even a pipe) to a sparse raw file.") { image, output, format, diskName, toNull };
        command.SetAction((parseResult, cancellationToken) => CommandExecution.RunAsync(parseResult, verbose, async (context, ct) =>
        {
            var target = parseResult.GetValue(output);
            var discard = parseResult.GetValue(toNull);
            if (target is null == !discard)
            {
                throw new CommandFailedException("convert needs either an OUT file or --null, not both.");
            }

            if (target is not null && File.Exists(target))
            {
                throw new CommandFailedException($"'{target}' exists; convert writes a new file and never overwrites one.");
            }

            var path = parseResult.GetValue(image)!;
            var clock = Stopwatch.StartNew();
            long bytes, capacity;
            if (await IsVmaArchiveAsync(path, parseResult.GetValue(format), ct))
            {
                if (VmaImages.IsCompressedArchive(path))
                {
                    (bytes, capacity) = await VmaImages.ConvertCompressedAsync(path, parseResult.GetValue(diskName), target, ct);
                }
                else
                {
                    await using var vmaDisk = await VmaImages.OpenDeviceAsync(path, parseResult.GetValue(diskName), ct);
                    (bytes, capacity) = (await ImageConverter.ConvertAsync(vmaDisk, target, ct), vmaDisk.Capacity);
                }
            }
            else
            {
                await using var input = await OpenAsync(path, parseResult.GetValue(format), ct);
                (bytes, capacity) = await input.WithDiskAsync(parseResult.GetValue(diskName), async disk => (
                    disk.RandomAccess is { } randomAccess
                        ? await ImageConverter.ConvertAsync(randomAccess, target, ct)
                        : await ImageConverter.ConvertAsync(disk.Sequential!, target, ct),
                    disk.Capacity), ct);
                await input.DrainStandardInputAsync(ct);
            }

            await context.Error.WriteLineAsync(string.Create(CultureInfo.InvariantCulture,
                $"{MigrateCommandLine.ToolName}: {(discard ? "decoded" : "wrote")} {bytes} data bytes of a {capacity}-byte disk in {clock.Elapsed.TotalSeconds:0.000} s"));
            return CommandExecution.Success;
        }, cancellationToken));
        return command;
    }

    private static Task<ImageInput> OpenAsync(string path, string? format, CancellationToken cancellationToken)
    {
        if (path != "-" && !File.Exists(path))
        {
            throw new CommandFailedException($"'{path}' does not exist.");
        }

        return ImageInput.OpenAsync(path, format, cancellationToken);
    }
    private static Task<bool> IsVmaArchiveAsync(string path, string? format, CancellationToken cancellationToken)
    {
        // Standard input and missing files take the general path (which reads the one and reports the other).
        if (path == "-" || !File.Exists(path))
        {
            return Task.FromResult(false);
        }

        return VmaImages.IsArchiveAsync(path, format, cancellationToken);
    }

    private static async Task InspectArchiveAsync(CommandContext context, VmaArchiveReport report, bool json)
    {
        if (json)
        {
            await context.Output.WriteLineAsync(JsonSerializer.Serialize(report, ImagesJsonContext.Default.VmaArchiveReport));
            return;
        }

        await context.Output.WriteLineAsync($"image: {report.Filename}");
        await context.Output.WriteLineAsync("format: vma (Proxmox vzdump archive)");
        if (report.Compression is not null)
        {
            await context.Output.WriteLineAsync($"compression: {report.Compression}");
        }

        await context.Output.WriteLineAsync(string.Create(CultureInfo.InvariantCulture, $"created: {report.Created:yyyy-MM-dd HH:mm:ss}Z"));
        await context.Output.WriteLineAsync($"uuid: {report.Uuid}");
        await context.Output.WriteLineAsync("config files: " + string.Join(", ", report.ConfigFiles.Select(c => string.Create(CultureInfo.InvariantCulture, $"{c.Name} ({c.Size} bytes)"))));
        await context.Output.WriteLineAsync("devices:");
        foreach (var device in report.Devices)
        {
            var allocated = device.AllocatedBytes is { } bytes ? string.Create(CultureInfo.InvariantCulture, $", allocated {bytes} bytes") : "";
            await context.Output.WriteLineAsync(string.Create(CultureInfo.InvariantCulture, $"  {device.Id} {device.Name}: virtual size {device.VirtualSize} bytes{allocated}"));
        }
    }

}
