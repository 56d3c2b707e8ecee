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

    private static Argument<string> ImageArgument() => new("IMAGE") { Description = "The disk image (raw, qcow2, vmdk, ...)." };

    private static Option<string?> FormatOption() => new("--format", "-f")
    {
        Description = "The image's format, when you know it: the content is then not probed (a raw disk is never taken for another format).",
    };

    private static Command Inspect(Option<bool> verbose)
    {
        var image = ImageArgument();
        var format = FormatOption();
        var json = new Option<bool>("--json") { Description = "Print one JSON document." };
        var command = new Command("inspect", "Describe a disk image: format, subformat, sizes, cluster size, compression, features, parents.") { image, format, json };
        command.SetAction((parseResult, cancellationToken) => CommandExecution.RunAsync(parseResult, verbose, async (context, ct) =>
        {
            await using var disk = await OpenAsync(parseResult.GetValue(image)!, parseResult.GetValue(format), ct);
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
        var command = new Command("map", "Print a disk image's allocation map from its metadata (data, zero, unallocated).") { image, format, json };
        command.SetAction((parseResult, cancellationToken) => CommandExecution.RunAsync(parseResult, verbose, async (context, ct) =>
        {
            await using var disk = await OpenAsync(parseResult.GetValue(image)!, parseResult.GetValue(format), ct);
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
        var command = new Command("convert", "Write the logical content of a disk image to a sparse raw file.") { image, output, format, toNull };
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

            await using var disk = await OpenAsync(parseResult.GetValue(image)!, parseResult.GetValue(format), ct);
            var clock = Stopwatch.StartNew();
            var bytes = await ImageConverter.ConvertAsync(disk, target, ct);
            await context.Error.WriteLineAsync(string.Create(CultureInfo.InvariantCulture,
                $"{MigrateCommandLine.ToolName}: {(discard ? "decoded" : "wrote")} {bytes} data bytes of a {disk.Capacity}-byte disk in {clock.Elapsed.TotalSeconds:0.000} s"));
            return CommandExecution.Success;
        }, cancellationToken));
        return command;
    }

    private static Task<IVirtualDisk> OpenAsync(string path, string? format, CancellationToken cancellationToken)
    {
        if (!File.Exists(path))
        {
            throw new CommandFailedException($"'{path}' does not exist.");
        }

        return DiskImage.OpenAsync(path, new DiskImageOptions { Format = format }, cancellationToken);
    }
}
