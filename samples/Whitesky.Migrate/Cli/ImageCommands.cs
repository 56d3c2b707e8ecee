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

    private static Argument<string> ImageArgument() => new("IMAGE") { Description = "The disk image (raw, qcow2, vmdk, vma, ...)." };

    private static Option<string?> DeviceOption() => new("--device")
    {
        Description = "For a Proxmox VMA archive (.vma, .vma.gz, .vma.zst): the device to read, by name (drive-scsi0) or dev_id. Needed when the archive has more than one.",
    };

    private static Option<string?> FormatOption() => new("--format", "-f")
    {
        Description = "The image's format, when you know it: the content is then not probed (a raw disk is never taken for another format).",
    };

    private static Command Inspect(Option<bool> verbose)
    {
        var image = ImageArgument();
        var format = FormatOption();
        var json = new Option<bool>("--json") { Description = "Print one JSON document." };
        var device = DeviceOption();
        var command = new Command("inspect", "Describe a disk image: format, subformat, sizes, cluster size, compression, features, parents; for a VMA archive without --device, its devices and config files.") { image, format, json, device };
        command.SetAction((parseResult, cancellationToken) => CommandExecution.RunAsync(parseResult, verbose, async (context, ct) =>
        {
            var path = parseResult.GetValue(image)!;
            if (parseResult.GetValue(device) is null && await IsVmaArchiveAsync(path, parseResult.GetValue(format), ct))
            {
                await InspectArchiveAsync(context, await VmaImages.DescribeAsync(path, ct), parseResult.GetValue(json));
                return CommandExecution.Success;
            }

            await using var disk = await OpenAsync(path, parseResult.GetValue(format), parseResult.GetValue(device), ct);
            var report = ImageReport.From(await DiskImage.DescribeAsync(disk, ct));
            if (parseResult.GetValue(json))
            {
                await context.Output.WriteLineAsync(JsonSerializer.Serialize(report, ImagesJsonContext.Default.ImageReport));
                return CommandExecution.Success;
            }

            for (var (layer, depth) = (report, 0); layer is not null; (layer, depth) = (layer.Backing, depth + 1))
            {
                var indent = new string(' ', depth * 2);
                await context.Output.WriteLineAsync($"{indent}image: {layer.Filename}");
                await context.Output.WriteLineAsync($"{indent}format: {layer.Format}{(layer.Subformat is null ? "" : " (" + layer.Subformat + ")")}");
                await context.Output.WriteLineAsync(string.Create(CultureInfo.InvariantCulture, $"{indent}virtual size: {layer.VirtualSize} bytes"));
                await context.Output.WriteLineAsync(string.Create(CultureInfo.InvariantCulture, $"{indent}file size: {layer.FileSize} bytes"));
                if (layer.AllocatedBytes is not null)
                {
                    await context.Output.WriteLineAsync(string.Create(CultureInfo.InvariantCulture, $"{indent}allocated: {layer.AllocatedBytes} bytes"));
                }

                if (layer.ClusterSize is { } cluster)
                {
                    await context.Output.WriteLineAsync(string.Create(CultureInfo.InvariantCulture, $"{indent}cluster size: {cluster}"));
                }

                if (layer.Compression is not null)
                {
                    await context.Output.WriteLineAsync($"{indent}compression: {layer.Compression}");
                }

                if (layer.Features.Count > 0)
                {
                    await context.Output.WriteLineAsync($"{indent}features: {string.Join(", ", layer.Features)}");
                }

                if (layer.Backing is not null)
                {
                    await context.Output.WriteLineAsync($"{indent}backing:");
                }
            }

            return CommandExecution.Success;
        }, cancellationToken));
        return command;
    }

    private static Command Map(Option<bool> verbose)
    {
        var image = ImageArgument();
        var format = FormatOption();
        var json = new Option<bool>("--json") { Description = "Print the map as JSON in the shape of qemu-img map --output=json." };
        var device = DeviceOption();
        var command = new Command("map", "Print a disk image's allocation map from its metadata (data, zero, unallocated).") { image, format, json, device };
        command.SetAction((parseResult, cancellationToken) => CommandExecution.RunAsync(parseResult, verbose, async (context, ct) =>
        {
            await using var disk = await OpenAsync(parseResult.GetValue(image)!, parseResult.GetValue(format), parseResult.GetValue(device), ct);
            var entries = new List<ImageMapEntry>();
            await foreach (var extent in disk.GetExtentsAsync(0, disk.Capacity, ct))
            {
                var entry = new ImageMapEntry(extent.Offset, extent.Length, 0,
                    Present: extent.Kind != DiskExtentKind.Unallocated, Zero: extent.Kind != DiskExtentKind.Data, Data: extent.Kind == DiskExtentKind.Data);
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

    private static Command Convert(Option<bool> verbose)
    {
        var image = ImageArgument();
        var output = new Argument<string?>("OUT") { Description = "The raw file to write (must not exist).", Arity = ArgumentArity.ZeroOrOne };
        var format = FormatOption();
        var toNull = new Option<bool>("--null") { Description = "Decode everything and write nothing (measures decoding, like qemu-img convert to null-co)." };
        var device = DeviceOption();
        var command = new Command("convert", "Write the logical content of a disk image (or of one device of a VMA archive) to a sparse raw file.") { image, output, format, toNull, device };
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
            if (VmaImages.IsCompressedArchive(path) && File.Exists(path))
            {
                (bytes, capacity) = await VmaImages.ConvertCompressedAsync(path, parseResult.GetValue(device), target, ct);
            }
            else
            {
                await using var disk = await OpenAsync(path, parseResult.GetValue(format), parseResult.GetValue(device), ct);
                (bytes, capacity) = (await ImageConverter.ConvertAsync(disk, target, ct), disk.Capacity);
            }

            await context.Error.WriteLineAsync(string.Create(CultureInfo.InvariantCulture,
                $"{MigrateCommandLine.ToolName}: {(discard ? "decoded" : "wrote")} {bytes} data bytes of a {capacity}-byte disk in {clock.Elapsed.TotalSeconds:0.000} s"));
            return CommandExecution.Success;
        }, cancellationToken));
        return command;
    }

    private static async Task<IVirtualDisk> OpenAsync(string path, string? format, string? device, CancellationToken cancellationToken)
    {
        if (await IsVmaArchiveAsync(path, format, cancellationToken))
        {
            return await VmaImages.OpenDeviceAsync(path, device, cancellationToken);
        }

        if (device is not null)
        {
            throw new CommandFailedException($"--device picks a device of a VMA archive; '{path}' is not one.");
        }

        return await DiskImage.OpenAsync(path, new DiskImageOptions { Format = format }, cancellationToken);
    }

    private static Task<bool> IsVmaArchiveAsync(string path, string? format, CancellationToken cancellationToken)
    {
        if (!File.Exists(path))
        {
            throw new CommandFailedException($"'{path}' does not exist.");
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
