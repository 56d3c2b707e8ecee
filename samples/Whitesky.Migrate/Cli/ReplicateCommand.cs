using System.CommandLine;
using System.CommandLine.Parsing;
using System.Globalization;
using Whitesky.Migrate.Replicate;
using Whitesky.Migration.Replication;
using Whitesky.Migration.Transfer;

namespace Whitesky.Migrate.Cli;

/// <summary>
/// <c>replicate SOURCE TARGET --change-source bitmap:NAME|hash|snapshots</c>: the initial sync and incremental passes
/// while the source runs (until the delta is small enough), or with <c>--final</c> one last pass after it stopped.
/// One line per pass on standard error; with <c>--state</c> a later run resumes at the next pass.
/// </summary>
internal static class ReplicateCommand
{
    public static Command Create(Option<bool> verbose)
    {
        var source = new Argument<string>("SOURCE") { Description = "An NBD URI (bitmap, hash), a disk image or device (hash), or the base image (snapshots)." };
        var target = new Argument<string>("TARGET") { Description = "An NBD URI, a raw file, or whitesky:new / whitesky:disk/ID (WHITESKY_* environment, as printed by 'emulator')." };
        var changeSource = new Option<string>("--change-source", "-c")
        {
            Description = "How changes are found: bitmap:NAME (qemu:dirty-bitmap over NBD), hash (block hashes), snapshots (differencing layers).",
            Required = true,
        };
        var layers = new Option<string[]>("--layer") { Description = "A snapshot layer (with --change-source snapshots), in order; repeat.", HelpName = "IMAGE" };
        var state = new Option<string?>("--state") { Description = "A JSON file the session is saved to after each pass; a later run resumes from it.", HelpName = "FILE" };
        var untilDelta = new Option<long>("--until-delta")
        {
            Description = "Stop the passes once a pass changed at most this many bytes (suffixes K, M, G). Default 64M.",
            HelpName = "BYTES",
            DefaultValueFactory = _ => 64L << 20,
            CustomParser = ParseBytes,
        };
        var maxPasses = new Option<int>("--max-passes") { Description = "The most incremental passes. Default 20.", DefaultValueFactory = _ => 20 };
        var final = new Option<bool>("--final") { Description = "Run one final pass (the source has stopped) instead of passes until converged." };
        var connections = new Option<int>("--connections", "-C") { Description = "NBD connections to the target.", DefaultValueFactory = _ => 4 };
        var command = new Command("replicate", "Replicate a running disk: initial sync, then incremental passes of what changed (nearly-online migration).")
        {
            source, target, changeSource, layers, state, untilDelta, maxPasses, final, connections,
        };
        command.SetAction((parseResult, cancellationToken) => CommandExecution.RunAsync(parseResult, verbose, (context, ct) => RunAsync(context,
            parseResult.GetValue(source)!, parseResult.GetValue(target)!, parseResult.GetValue(changeSource)!, parseResult.GetValue(layers) ?? [],
            new ReplicationOptions
            {
                StatePath = parseResult.GetValue(state),
                UntilDeltaBytes = parseResult.GetValue(untilDelta),
                MaxPasses = parseResult.GetValue(maxPasses),
            },
            parseResult.GetValue(final), parseResult.GetValue(connections), ct), cancellationToken));
        return command;
    }

    private static async Task<int> RunAsync(CommandContext context, string source, string target, string kind, IReadOnlyList<string> layers,
        ReplicationOptions options, bool final, int connections, CancellationToken cancellationToken)
    {
        await using var changes = await ReplicationEndpoints.OpenSourceAsync(source, kind, layers, cancellationToken);
        var capacity = await CapacityAsync(changes, cancellationToken);
        var name = Path.GetFileName(source.Split('?')[0].TrimEnd('/')) is { Length: > 0 } file && !file.Contains(':', StringComparison.Ordinal) ? file : "replicated-disk";
        var (sink, disk, client) = await ReplicationEndpoints.OpenTargetAsync(target, name, capacity, connections, cancellationToken);
        try
        {
            if (disk is not null)
            {
                await context.Error.WriteLineAsync(string.Create(CultureInfo.InvariantCulture, $"target: whitesky disk {disk.DiskId} (exposed over NBD TLS-PSK)"));
                await context.Output.WriteLineAsync(string.Create(CultureInfo.InvariantCulture, $"WHITESKY_DISK_ID={disk.DiskId}"));
            }

            var session = await ReplicationSession.OpenAsync(changes, sink, options, new DiskTransferOptions { MaxRequestsInFlight = 64 }, context.LoggerFactory,
                cancellationToken: cancellationToken);
            if (session.Resumed)
            {
                await context.Error.WriteLineAsync(string.Create(CultureInfo.InvariantCulture, $"resuming at pass {session.State.NextPass} from {options.StatePath}"));
            }

            var progress = new PassPrinter(context.Error);
            if (final)
            {
                await session.FinalSyncAsync(progress, cancellationToken);
                await context.Error.WriteLineAsync("final sync done: the target holds the source's final content");
            }
            else
            {
                var reason = await session.ReplicateAsync(progress, cancellationToken);
                await context.Error.WriteLineAsync($"converged: {Describe(reason)}; stop the source, then run again with --final");
            }

            return CommandExecution.Success;
        }
        finally
        {
            await sink.DisposeAsync();
            if (disk is not null)
            {
                await disk.DisposeAsync();
            }

            client?.Dispose();
        }
    }

    /// <summary>A snapshot chain knows its size once its base is opened: ask for pass 0's map if needed.</summary>
    private static async Task<long> CapacityAsync(IChangeSource changes, CancellationToken cancellationToken)
    {
        if (changes is SnapshotDeltaChangeSource snapshots)
        {
            await using var disk = await Whitesky.DiskFormats.DiskImage.OpenAsync(snapshots.Layers[0], cancellationToken: cancellationToken);
            return disk.Capacity;
        }

        return changes.Capacity;
    }

    private static string Describe(ReplicationStopReason reason) => reason switch
    {
        ReplicationStopReason.DeltaSmallEnough => "the delta is below --until-delta",
        ReplicationStopReason.PassFastEnough => "a pass was fast enough",
        ReplicationStopReason.NotConverging => "the delta stopped shrinking",
        _ => "--max-passes reached",
    };

    private static long ParseBytes(ArgumentResult result)
    {
        var text = result.Tokens.Count > 0 ? result.Tokens[0].Value : string.Empty;
        if (!ByteSize.TryParse(text, out var bytes))
        {
            result.AddError($"'{text}' is not a size in bytes (e.g. 64M).");
        }

        return bytes;
    }

    /// <summary>One line per committed pass; while a long pass copies, a progress line every 5 seconds.</summary>
    internal sealed class PassPrinter(TextWriter error, string? prefix = null) : IProgress<ReplicationProgress>
    {
        private static readonly TimeSpan Every = TimeSpan.FromSeconds(5);
        private TimeSpan _printed;

        public void Report(ReplicationProgress value)
        {
            if (value.Stage == ReplicationStage.Copying && value.Transfer is { Phase: TransferPhase.Copying } copy)
            {
                lock (error)
                {
                    if (copy.Elapsed - _printed >= Every)
                    {
                        _printed = copy.Elapsed;
                        error.WriteLine(string.Create(CultureInfo.InvariantCulture,
                            $"{prefix}  pass {value.Pass}: {ByteSize.Format(copy.CompletedBytes)} of {ByteSize.Format(copy.TotalBytes)}, {ByteSize.Format((long)copy.BytesPerSecond)}/s"));
                        error.Flush();
                    }
                }

                return;
            }

            if (value.Stage != ReplicationStage.Committed || value.Completed is not { } pass)
            {
                return;
            }

            _printed = TimeSpan.Zero;

            var kind = pass.Pass == 0 ? "initial sync" : pass.Final ? "final sync" : $"pass {pass.Pass}";
            lock (error)
            {
                error.WriteLine(string.Create(CultureInfo.InvariantCulture,
                    $"{prefix}{kind}: changed {ByteSize.Format(pass.BytesChanged)} in {pass.Ranges} range(s), sent {ByteSize.Format(pass.BytesSent)}, zeroed {ByteSize.Format(pass.BytesZeroed)}, {pass.Duration.TotalSeconds:0.000} s, trend {pass.Trend.ToString().ToLowerInvariant()}"));
                error.Flush();
            }
        }
    }
}
