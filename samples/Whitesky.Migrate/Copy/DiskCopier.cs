using System.Globalization;
using System.Text.Json;
using Whitesky.DiskFormats;
using Whitesky.Migrate.Cli;
using Whitesky.Migrate.Images;
using Whitesky.Migration.Sinks;
using Whitesky.Migration.Sources;
using Whitesky.Migration.Transfer;
using Whitesky.Nbd;

namespace Whitesky.Migrate.Copy;

/// <summary>Opens the source and the target a command line names and runs the transfer engine between them.</summary>
internal static class DiskCopier
{
    public static async Task<int> RunAsync(CommandContext context, CopySettings settings, CancellationToken cancellationToken)
    {
        var sourceIsStdin = settings.Source == "-";
        var sourceIsNbd = IsNbdUri(settings.Source);
        if (!sourceIsStdin && !sourceIsNbd && !File.Exists(settings.Source))
        {
            throw new CommandFailedException($"The source file {settings.Source} does not exist.");
        }

        if (sourceIsStdin && settings.Checkpoint is not null)
        {
            throw new CommandFailedException("--checkpoint cannot be used with standard input: nothing tells one stream from another, so a resumed copy could mix two.");
        }

        TransferSummary summary;
        if (sourceIsNbd)
        {
            var client = await NbdClient.ConnectAsync(NbdUri.Parse(settings.Source) with
            {
                Connections = settings.Connections,
                MaxRequestsInFlight = settings.Requests,
                LoggerFactory = context.LoggerFactory,
            }, cancellationToken);
            await using var disk = new NbdVirtualDisk(client, settings.Source.Split('?')[0]);
            summary = await CopyAsync(context, settings, disk, null, null, cancellationToken);
        }
        else if (!sourceIsStdin && await VmaImages.IsArchiveAsync(settings.Source, settings.SourceFormat, cancellationToken))
        {
            // A Proxmox backup: --disk picks the device; compressed, it is read in one pass.
            if (VmaImages.IsCompressedArchive(settings.Source))
            {
                await using var device = await VmaImages.OpenCompressedDeviceAsync(settings.Source, settings.Disk, cancellationToken);
                summary = await CopyAsync(context, settings, null, device, null, cancellationToken);
            }
            else
            {
                await using var device = await VmaImages.OpenDeviceAsync(settings.Source, settings.Disk, cancellationToken);
                summary = await CopyAsync(context, settings, device, null, null, cancellationToken);
            }
        }
        else
        {
            // What the image commands read: an image, a tar or OVA file (in place), or a stream decoded in one pass
            // (standard input, a compressed file); standard input nothing was recognised in is raw data.
            await using var input = await ImageInput.OpenAsync(settings.Source, settings.SourceFormat, cancellationToken, rawStream: sourceIsStdin);
            if (input.RawStream is { } raw)
            {
                if (settings.Disk is not null)
                {
                    throw new CommandFailedException($"--disk {settings.Disk} names a disk of an archive, but standard input holds raw data (no archive or image format recognised).");
                }

                summary = await CopyAsync(context, settings, null, null, raw, cancellationToken);
            }
            else
            {
                summary = await input.WithDiskAsync(settings.Disk, disk => CopyAsync(context, settings, disk.RandomAccess, disk.Sequential, null, cancellationToken), cancellationToken);
            }

            await input.DrainStandardInputAsync(cancellationToken);
        }

        await context.Error.WriteLineAsync(string.Create(CultureInfo.InvariantCulture,
            $"{MigrateCommandLine.ToolName}: copied {summary.BytesWritten} bytes of data ({ByteSize.Format(summary.BytesWritten)}), zeroed {summary.BytesZeroed} bytes, skipped {summary.BytesSkipped} zero bytes in {summary.Duration.TotalSeconds:0.000} s ({summary.AverageBytesPerSecond / 1048576:0.0} MiB/s); resumed {summary.BytesResumed} bytes, {summary.Retries} retries{(settings.Verify ? $", verified {summary.BytesVerified} bytes" : string.Empty)}"));
        if (settings.Json)
        {
            await context.Output.WriteLineAsync(JsonSerializer.Serialize(summary, CopyJsonContext.Default.TransferSummary));
        }

        return CommandExecution.Success;
    }

    /// <summary>
    /// Opens the target and copies one source into it: a random-access disk, a disk read in one pass, or raw data of
    /// no declared length (sized by the target).
    /// </summary>
    private static async Task<TransferSummary> CopyAsync(CommandContext context, CopySettings settings, IVirtualDisk? disk, ISequentialDisk? stream, Stream? raw,
        CancellationToken cancellationToken)
    {
        await using var sink = await OpenTargetAsync(context, settings, disk?.Capacity ?? stream?.Capacity, cancellationToken);
        var window = settings.Requests * (sink is NbdBlockSink nbd ? nbd.Client.ConnectionCount : 1);
        var options = new DiskTransferOptions
        {
            RequestSize = (int?)settings.RequestSize,
            MaxRequestsInFlight = window,
            TargetIsZero = settings.TargetIsZero,
            Verify = settings.Verify,
            CheckpointStore = settings.Checkpoint is null ? null : new FileTransferCheckpointStore(settings.Checkpoint),
            SourceIdentity = SourceIdentity(settings.Source, settings.Disk),
            BandwidthLimit = settings.Bandwidth,
            Flush = settings.Flush,
        };
        var engine = new DiskTransfer(options, context.LoggerFactory);
        var terminal = ReferenceEquals(context.Error, Console.Error) && !Console.IsErrorRedirected;
        var reporter = settings.Progress == true || (settings.Progress is null && terminal) ? new CopyProgressReporter(context.Error, terminal) : null;
        try
        {
            if (disk is not null)
            {
                return await engine.CopyAsync(disk, sink, reporter, cancellationToken);
            }

            await using var sequential = stream is null ? new StandardInputDisk(raw!, sink.Capacity) : null;
            return await engine.CopyAsync(stream ?? sequential!, sink, reporter, cancellationToken);
        }
        finally
        {
            if (reporter is not null)
            {
                await reporter.DisposeAsync();
            }
        }
    }

    private static async Task<IBlockSink> OpenTargetAsync(CommandContext context, CopySettings settings, long? capacity, CancellationToken cancellationToken)
    {
        if (IsNbdUri(settings.Target))
        {
            return await NbdBlockSink.ConnectAsync(NbdUri.Parse(settings.Target) with
            {
                Connections = settings.Connections,
                MaxRequestsInFlight = settings.Requests,
                LoggerFactory = context.LoggerFactory,
            }, cancellationToken);
        }

        if (capacity is null)
        {
            throw new CommandFailedException("Copying raw data from standard input needs an NBD target (its size bounds the stream).");
        }

        return File.Exists(settings.Target) ? RawFileSink.Open(settings.Target, capacity.Value) : RawFileSink.Create(settings.Target, capacity.Value);
    }

    /// <summary>A file's path, length and modification time: a checkpoint of another version of the file is not resumed.</summary>
    private static string? SourceIdentity(string source, string? disk)
    {
        if (source == "-" || IsNbdUri(source))
        {
            return source == "-" ? null : source.Split('?')[0];
        }

        var info = new FileInfo(source);
        return string.Create(CultureInfo.InvariantCulture, $"{info.FullName}|{info.Length}|{info.LastWriteTimeUtc.Ticks}{(disk is null ? string.Empty : "|" + disk)}");
    }

    private static bool IsNbdUri(string text) =>
        text.StartsWith("nbd://", StringComparison.OrdinalIgnoreCase) || text.StartsWith("nbds://", StringComparison.OrdinalIgnoreCase)
        || text.StartsWith("nbd+unix://", StringComparison.OrdinalIgnoreCase) || text.StartsWith("nbds+unix://", StringComparison.OrdinalIgnoreCase);
}
