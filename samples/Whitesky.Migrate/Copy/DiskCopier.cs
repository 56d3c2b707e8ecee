using System.Globalization;
using System.Text.Json;
using Whitesky.DiskFormats;
using Whitesky.Migrate.Cli;
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

        IVirtualDisk? disk = null;
        IBlockSink? sink = null;
        try
        {
            if (sourceIsNbd)
            {
                var client = await NbdClient.ConnectAsync(NbdUri.Parse(settings.Source) with
                {
                    Connections = settings.Connections,
                    MaxRequestsInFlight = settings.Requests,
                    LoggerFactory = context.LoggerFactory,
                }, cancellationToken);
                disk = new NbdVirtualDisk(client, settings.Source.Split('?')[0]);
            }
            else if (!sourceIsStdin)
            {
                disk = await DiskImage.OpenAsync(settings.Source, new DiskImageOptions { Format = settings.SourceFormat }, cancellationToken);
            }

            sink = await OpenTargetAsync(context, settings, disk?.Capacity, cancellationToken);
            var window = settings.Requests * (sink is NbdBlockSink nbd ? nbd.Client.ConnectionCount : 1);
            var options = new DiskTransferOptions
            {
                RequestSize = (int?)settings.RequestSize,
                MaxRequestsInFlight = window,
                TargetIsZero = settings.TargetIsZero,
                Verify = settings.Verify,
                CheckpointStore = settings.Checkpoint is null ? null : new FileTransferCheckpointStore(settings.Checkpoint),
                SourceIdentity = SourceIdentity(settings.Source),
                BandwidthLimit = settings.Bandwidth,
                Flush = settings.Flush,
            };
            var engine = new DiskTransfer(options, context.LoggerFactory);
            var terminal = ReferenceEquals(context.Error, Console.Error) && !Console.IsErrorRedirected;
            var reporter = settings.Progress == true || (settings.Progress is null && terminal) ? new CopyProgressReporter(context.Error, terminal) : null;
            TransferSummary summary;
            try
            {
                if (disk is not null)
                {
                    summary = await engine.CopyAsync(disk, sink, reporter, cancellationToken);
                }
                else
                {
                    var stdin = new StandardInputDisk(Console.OpenStandardInput(), sink.Capacity);
                    await using (stdin)
                    {
                        summary = await engine.CopyAsync(stdin, sink, reporter, cancellationToken);
                    }
                }
            }
            finally
            {
                if (reporter is not null)
                {
                    await reporter.DisposeAsync();
                }
            }

            await context.Error.WriteLineAsync(string.Create(CultureInfo.InvariantCulture,
                $"{MigrateCommandLine.ToolName}: copied {summary.BytesWritten} bytes of data ({ByteSize.Format(summary.BytesWritten)}), zeroed {summary.BytesZeroed} bytes, skipped {summary.BytesSkipped} zero bytes in {summary.Duration.TotalSeconds:0.000} s ({summary.AverageBytesPerSecond / 1048576:0.0} MiB/s); resumed {summary.BytesResumed} bytes, {summary.Retries} retries{(settings.Verify ? $", verified {summary.BytesVerified} bytes" : string.Empty)}"));
            if (settings.Json)
            {
                await context.Output.WriteLineAsync(JsonSerializer.Serialize(summary, CopyJsonContext.Default.TransferSummary));
            }

            return CommandExecution.Success;
        }
        finally
        {
            if (sink is not null)
            {
                await sink.DisposeAsync();
            }

            if (disk is not null)
            {
                await disk.DisposeAsync();
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
            throw new CommandFailedException("Copying standard input needs an NBD target (its size bounds the stream).");
        }

        return File.Exists(settings.Target) ? RawFileSink.Open(settings.Target, capacity.Value) : RawFileSink.Create(settings.Target, capacity.Value);
    }

    /// <summary>A file's path, length and modification time: a checkpoint of another version of the file is not resumed.</summary>
    private static string? SourceIdentity(string source)
    {
        if (source == "-" || IsNbdUri(source))
        {
            return source == "-" ? null : source.Split('?')[0];
        }

        var info = new FileInfo(source);
        return string.Create(CultureInfo.InvariantCulture, $"{info.FullName}|{info.Length}|{info.LastWriteTimeUtc.Ticks}");
    }

    private static bool IsNbdUri(string text) =>
        text.StartsWith("nbd://", StringComparison.OrdinalIgnoreCase) || text.StartsWith("nbds://", StringComparison.OrdinalIgnoreCase)
        || text.StartsWith("nbd+unix://", StringComparison.OrdinalIgnoreCase) || text.StartsWith("nbds+unix://", StringComparison.OrdinalIgnoreCase);
}
