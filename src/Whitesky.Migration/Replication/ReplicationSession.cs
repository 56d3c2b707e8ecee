using System.Diagnostics;
using System.Globalization;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Whitesky.Migration.Transfer;

namespace Whitesky.Migration.Replication;

/// <summary>
/// Replicates a running disk into a target: an initial full sync (pass 0) while the source runs, then incremental
/// passes that copy only what the <see cref="IChangeSource"/> reports changed, until the delta is small enough
/// (<see cref="ReplicateAsync"/>); after the source stopped, <see cref="FinalSyncAsync"/> copies the last delta.
/// Every pass goes through the transfer engine (<see cref="DiskTransfer.CopyRangesAsync"/>: pooled buffers, a window
/// of requests in flight, one FLUSH), is committed to the change source only after the flush, and is recorded in
/// <see cref="State"/> — saved to <see cref="ReplicationOptions.StatePath"/> so a new session resumes at the next pass.
/// </summary>
/// <remarks>The session does not own the change source or the target; dispose them yourself.</remarks>
public sealed class ReplicationSession
{
    private readonly IChangeSource _source;
    private readonly IBlockSink _target;
    private readonly ReplicationOptions _options;
    private readonly DiskTransfer _engine;
    private readonly ILogger _logger;
    private readonly TimeProvider _time;
    private readonly SemaphoreSlim _gate = new(1, 1);

    private ReplicationSession(IChangeSource source, IBlockSink target, ReplicationOptions options, DiskTransferOptions? transfer,
        ILoggerFactory? loggerFactory, TimeProvider? timeProvider, ReplicationState state)
    {
        _source = source;
        _target = target;
        _options = options;
        // Every pass is copied as given ranges: the engine keeps no checkpoint for those and zeroes inside them.
        _engine = new DiskTransfer((transfer ?? new DiskTransferOptions()) with { CheckpointStore = null, TargetIsZero = null }, loggerFactory);
        _logger = (ILogger?)loggerFactory?.CreateLogger<ReplicationSession>() ?? NullLogger.Instance;
        _time = timeProvider ?? TimeProvider.System;
        State = state;
    }

    /// <summary>Raised for every progress snapshot of every pass.</summary>
    public event EventHandler<ReplicationProgress>? ProgressChanged;

    /// <summary>What the session has done (the same content as the state file).</summary>
    public ReplicationState State { get; private set; }

    /// <summary>Whether this session continued from a saved state.</summary>
    public bool Resumed { get; private set; }

    /// <summary>The change source.</summary>
    public IChangeSource Source => _source;

    /// <summary>The target.</summary>
    public IBlockSink Target => _target;

    /// <summary>
    /// Opens a session: when <see cref="ReplicationOptions.StatePath"/> names an existing state file of this source,
    /// the session resumes after its last committed pass (and loads the change source's saved baseline if it has one,
    /// <see cref="IChangeSourceState"/>); otherwise it starts at pass 0.
    /// </summary>
    /// <exception cref="InvalidDataException">The state file belongs to another source or size, or is damaged.</exception>
    public static async Task<ReplicationSession> OpenAsync(IChangeSource source, IBlockSink target, ReplicationOptions? options = null,
        DiskTransferOptions? transfer = null, ILoggerFactory? loggerFactory = null, TimeProvider? timeProvider = null,
        CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(source);
        ArgumentNullException.ThrowIfNull(target);
        options ??= new ReplicationOptions();
        options.Validate();

        // The capacity is filled in by the first pass (a snapshot chain knows it only once opened).
        var fresh = new ReplicationState { Source = Identity(source), Target = target.Name, Capacity = 0 };
        if (options.StatePath is not { } path || !File.Exists(path))
        {
            return new ReplicationSession(source, target, options, transfer, loggerFactory, timeProvider, fresh);
        }

        var state = await ReplicationState.LoadAsync(path, cancellationToken).ConfigureAwait(false);
        if (!string.Equals(state.Source, Identity(source), StringComparison.Ordinal))
        {
            throw new InvalidDataException($"The replication state {path} belongs to {state.Source}, not to {Identity(source)}.");
        }

        if (state.NextPass > 0 && source is IChangeSourceState persistent)
        {
            var changes = ChangesPath(path);
            if (!File.Exists(changes))
            {
                throw new InvalidDataException($"The replication state {path} is at pass {state.NextPass} but the change source's state {changes} is missing.");
            }

            var stream = File.OpenRead(changes);
            await using (stream.ConfigureAwait(false))
            {
                await persistent.LoadStateAsync(stream, cancellationToken).ConfigureAwait(false);
            }
        }

        var session = new ReplicationSession(source, target, options, transfer, loggerFactory, timeProvider, state) { Resumed = true };
        ReplicationLog.Resumed(session._logger, source.Name, state.NextPass, path);
        return session;
    }

    /// <summary>
    /// Runs passes while the source keeps running: the initial sync if it was not done yet, then incremental passes
    /// until the delta is small enough, a pass is fast enough, the delta stops shrinking, or the pass limit is reached.
    /// </summary>
    /// <returns>Why the passes stopped.</returns>
    public async Task<ReplicationStopReason> ReplicateAsync(IProgress<ReplicationProgress>? progress = null, CancellationToken cancellationToken = default)
    {
        if (State.NextPass == 0)
        {
            await RunPassAsync(progress, cancellationToken).ConfigureAwait(false);
        }

        while (true)
        {
            if (State.NextPass > 1 && Converged() is { } early)
            {
                ReplicationLog.Stopped(_logger, _source.Name, State.NextPass - 1, early);
                return early;
            }

            await RunPassAsync(progress, cancellationToken).ConfigureAwait(false);
            if (Converged() is { } reason)
            {
                ReplicationLog.Stopped(_logger, _source.Name, State.NextPass - 1, reason);
                return reason;
            }

            if (_options.PassInterval > TimeSpan.Zero)
            {
                await Task.Delay(_options.PassInterval, _time, cancellationToken).ConfigureAwait(false);
            }
        }
    }

    /// <summary>Runs the next pass (the initial sync first), commits it and saves the state.</summary>
    public Task<ReplicationPass> RunPassAsync(IProgress<ReplicationProgress>? progress = null, CancellationToken cancellationToken = default) =>
        PassAsync(final: false, progress, cancellationToken);

    /// <summary>
    /// The last pass, after the source stopped: copies what changed since the previous pass, so the target holds the
    /// source's final content. Runs the initial sync instead when none was done.
    /// </summary>
    public Task<ReplicationPass> FinalSyncAsync(IProgress<ReplicationProgress>? progress = null, CancellationToken cancellationToken = default) =>
        PassAsync(final: true, progress, cancellationToken);

    /// <summary>Why the passes would stop now, or null when another incremental pass should run.</summary>
    public ReplicationStopReason? Converged()
    {
        var incremental = State.Passes.Where(p => p.Pass > 0 && !p.Final).ToList();
        if (incremental.Count == 0)
        {
            return null;
        }

        var last = incremental[^1];
        if (last.BytesChanged <= _options.UntilDeltaBytes)
        {
            return ReplicationStopReason.DeltaSmallEnough;
        }

        if (_options.UntilPassDuration is { } fast && last.Duration <= fast)
        {
            return ReplicationStopReason.PassFastEnough;
        }

        if (_options.MaxPassesWithoutShrinking > 0)
        {
            var stalled = 0;
            for (var i = incremental.Count - 1; i >= 0 && incremental[i].Trend is ReplicationTrend.Steady or ReplicationTrend.Growing; i--)
            {
                stalled++;
            }

            if (stalled >= _options.MaxPassesWithoutShrinking)
            {
                return ReplicationStopReason.NotConverging;
            }
        }

        return incremental.Count >= _options.MaxPasses ? ReplicationStopReason.MaxPasses : null;
    }

    private async Task<ReplicationPass> PassAsync(bool final, IProgress<ReplicationProgress>? progress, CancellationToken cancellationToken)
    {
        await _gate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            var pass = State.NextPass;
            var startedAt = _time.GetUtcNow();
            var clock = Stopwatch.StartNew();
            Report(new ReplicationProgress { Pass = pass, Stage = ReplicationStage.Scanning }, progress);
            var changes = await _source.GetChangesAsync(pass, cancellationToken).ConfigureAwait(false);
            var scan = clock.Elapsed;
            var changed = changes.Bytes;
            if (State.Capacity == 0 && State.NextPass == 0)
            {
                State = State with { Capacity = _source.Capacity };
            }
            else if (State.Capacity != _source.Capacity)
            {
                throw new InvalidDataException(string.Create(CultureInfo.InvariantCulture,
                    $"The replication of {State.Source} was of {State.Capacity} bytes, but the source now has {_source.Capacity} bytes: start a new replication."));
            }

            Report(new ReplicationProgress { Pass = pass, Stage = ReplicationStage.Copying, BytesChanged = changed }, progress);

            TransferSummary? summary = null;
            if (changes.Ranges.Count > 0)
            {
                var ranges = changes.Ranges.Select(r => new TransferRange(r.Offset, r.Length)).ToList();
                var copyProgress = new SynchronousProgress<TransferProgress>(t =>
                    Report(new ReplicationProgress { Pass = pass, Stage = ReplicationStage.Copying, BytesChanged = changed, Transfer = t }, progress));
                summary = await _engine.CopyRangesAsync(new ChangeSourceDisk(_source), ranges, _target, copyProgress, cancellationToken).ConfigureAwait(false);
            }

            await _source.CommitAsync(changes, cancellationToken).ConfigureAwait(false);
            var record = new ReplicationPass
            {
                Pass = pass,
                Final = final,
                BytesChanged = changed,
                Ranges = changes.Ranges.Count,
                BytesSent = summary?.BytesWritten ?? 0,
                BytesZeroed = summary?.BytesZeroed ?? 0,
                Requests = summary is null ? 0 : summary.WriteRequests + summary.ZeroRequests + 1,
                ScanDuration = scan,
                Duration = clock.Elapsed,
                StartedAt = startedAt,
                FinishedAt = _time.GetUtcNow(),
                Trend = TrendOf(pass, changed),
            };

            State = State with { NextPass = pass + 1, Passes = [.. State.Passes, record], Finished = State.Finished || final };
            await SaveAsync(cancellationToken).ConfigureAwait(false);
            ReplicationLog.PassDone(_logger, _source.Name, _target.Name, pass, changed, record.Ranges, record.BytesSent, record.BytesZeroed,
                record.Duration.TotalSeconds, record.Trend);
            Report(new ReplicationProgress { Pass = pass, Stage = ReplicationStage.Committed, BytesChanged = changed, Completed = record }, progress);
            return record;
        }
        finally
        {
            _gate.Release();
        }
    }

    private ReplicationTrend TrendOf(int pass, long changed)
    {
        var previous = State.Passes.LastOrDefault(p => p.Pass > 0);
        if (pass < 2 || previous is null)
        {
            return ReplicationTrend.None;
        }

        if (changed < previous.BytesChanged * _options.ShrinkFactor)
        {
            return ReplicationTrend.Shrinking;
        }

        return changed * _options.ShrinkFactor > previous.BytesChanged ? ReplicationTrend.Growing : ReplicationTrend.Steady;
    }

    private async Task SaveAsync(CancellationToken cancellationToken)
    {
        if (_options.StatePath is not { } path)
        {
            return;
        }

        // The change source's baseline first: a crash between the two files repeats a pass against a newer baseline,
        // which finds what changed since that baseline (the target holds it), never less.
        if (_source is IChangeSourceState persistent)
        {
            var changes = ChangesPath(path);
            var temporary = changes + ".tmp";
            var stream = File.Create(temporary);
            await using (stream.ConfigureAwait(false))
            {
                await persistent.SaveStateAsync(stream, cancellationToken).ConfigureAwait(false);
                stream.Flush(flushToDisk: true);
            }

            File.Move(temporary, changes, overwrite: true);
        }

        await State.SaveAsync(path, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>What identifies the source in the state: a snapshot chain by its base image (its name follows the newest layer).</summary>
    private static string Identity(IChangeSource source) => source is SnapshotDeltaChangeSource snapshots ? snapshots.Layers[0] : source.Name;

    private static string ChangesPath(string statePath) => statePath + ".changes";

    private void Report(ReplicationProgress snapshot, IProgress<ReplicationProgress>? progress)
    {
        progress?.Report(snapshot);
        ProgressChanged?.Invoke(this, snapshot);
    }

    /// <summary>Calls the handler on the reporting thread (no synchronization context hop, no reordering).</summary>
    private sealed class SynchronousProgress<T>(Action<T> handler) : IProgress<T>
    {
        public void Report(T value) => handler(value);
    }
}
