using System.Diagnostics;
using System.Globalization;
using System.IO.Hashing;
using System.Runtime.ExceptionServices;
using Microsoft.Extensions.Logging;
using Whitesky.DiskFormats;

namespace Whitesky.Migration.Transfer;

/// <summary>
/// One transfer: plans ranges, keeps a window of requests in flight, records completed ranges, retries transient
/// failures, saves checkpoints, and verifies. The first permanent failure stops the walk; every request already
/// started is waited for before the failure is rethrown, so buffers are never reused while a request holds them.
/// </summary>
internal sealed class TransferRun
{
    private readonly DiskTransferOptions _options;
    private readonly ILogger _logger;
    private readonly DiskInfo _sourceInfo;
    private readonly long _capacity;
    private readonly IBlockSink _sink;
    private readonly Action<TransferProgress> _report;
    private readonly Stopwatch _clock = new();
    private readonly List<VerifyBlock> _verifyBlocks = [];
    private readonly Lock _verifyLock = new();

    private RangeSet _completed = new();
    private IReadOnlyList<TransferRange>? _ranges;
    private long _total;
    private long _work;
    private int _alignment;
    private int _requestSize;
    private int _zeroBlockSize;
    private int _window;
    private bool _targetIsZero;
    private string _key = string.Empty;
    private SemaphoreSlim _slots = null!;
    private RequestBufferPool _buffers = null!;
    private BandwidthLimiter? _bandwidth;
    private CancellationTokenSource? _stop;
    private ExceptionDispatchInfo? _failure;
    private volatile TransferPhase _phase = TransferPhase.Planning;

    private long _read;
    private long _written;
    private long _zeroed;
    private long _skipped;
    private long _resumed;
    private long _writeRequests;
    private long _zeroRequests;
    private int _retries;
    private long _verified;
    private double _peakRate;
    private long _lastWritten;
    private TimeSpan _lastTick;

    public TransferRun(DiskTransferOptions options, ILogger logger, DiskInfo sourceInfo, long capacity, IBlockSink sink, Action<TransferProgress> report)
    {
        _options = options;
        _logger = logger;
        _sourceInfo = sourceInfo;
        _capacity = capacity;
        _sink = sink;
        _report = report;
    }

    private string SourceName => _sourceInfo.Name;

    /// <summary>The checkpoint store, unless this run copies given ranges (those are repeated whole).</summary>
    private ITransferCheckpointStore? Store => _ranges is null ? _options.CheckpointStore : null;

    /// <summary>
    /// Copies only <paramref name="ranges"/> (sorted, not overlapping): inside them the target is not assumed to read
    /// as zero (zero blocks are zeroed), outside them it is left untouched. No checkpoint is kept: a range copy is
    /// short and is repeated whole.
    /// </summary>
    public Task<TransferSummary> RunRangesAsync(IVirtualDisk disk, IReadOnlyList<TransferRange> ranges, CancellationToken cancellationToken)
    {
        _ranges = ranges;
        return RunAsync(disk, null, cancellationToken);
    }

    public async Task<TransferSummary> RunAsync(IVirtualDisk? disk, ISequentialDisk? stream, CancellationToken cancellationToken)
    {
        _clock.Start();
        await PlanAsync(cancellationToken).ConfigureAwait(false);
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        _stop = stop;
        _slots = new SemaphoreSlim(_window, _window);
        using var buffers = _buffers = new RequestBufferPool(_requestSize, (int)Math.Clamp(_options.BufferMemory / _requestSize, 1, _window));
        TransferLog.Plan(_logger, SourceName, _capacity, _sink.Name, _window, _requestSize, buffers.Count, buffers.HugePages, _targetIsZero, _resumed);

        // The periodic loops stop when their timer is disposed (the pending wait then returns false): cancelling a
        // PeriodicTimer's wait throws an exception whose stack trace is rendered with source lines, which costs a
        // command-line copy tens of milliseconds of CPU (loading the PDB reader) at the end of every transfer.
        using var ticker = new CancellationTokenSource();
        using var progressTimer = new PeriodicTimer(_options.ProgressInterval);
        using var checkpointTimer = Store is null ? null : new PeriodicTimer(_options.CheckpointInterval);
        var progressLoop = ProgressLoopAsync(progressTimer);
        var checkpointLoop = checkpointTimer is null ? Task.CompletedTask : CheckpointLoopAsync(checkpointTimer, ticker.Token);
        var succeeded = false;
        try
        {
            SetPhase(TransferPhase.Copying);
            try
            {
                if (disk is not null)
                {
                    await CopyRandomAccessAsync(disk, stop.Token).ConfigureAwait(false);
                }
                else
                {
                    await CopySequentialAsync(stream!, stop.Token).ConfigureAwait(false);
                }
            }
            catch (OperationCanceledException) when (Volatile.Read(ref _failure) is not null)
            {
                // A request failed and stopped the walk; its error is rethrown below.
            }
            catch (Exception ex) when (ex is not OperationCanceledException)
            {
                Fail(ex);
            }
            finally
            {
                await WaitForRequestsAsync().ConfigureAwait(false);
                checkpointTimer?.Dispose();
                await ticker.CancelAsync().ConfigureAwait(false);
                await checkpointLoop.ConfigureAwait(false);
            }

            Volatile.Read(ref _failure)?.Throw();
            cancellationToken.ThrowIfCancellationRequested();

            if (_options.Flush)
            {
                SetPhase(TransferPhase.Flushing);
                await SendAsync(static (sink, _, _, ct) => sink.FlushAsync(ct), 0, 0, "FLUSH", cancellationToken).ConfigureAwait(false);
            }

            succeeded = true;
            if (Store is { } store)
            {
                await store.DeleteAsync(_key, cancellationToken).ConfigureAwait(false);
            }

            if (_options.Verify)
            {
                SetPhase(TransferPhase.Verifying);
                await VerifyAsync(cancellationToken).ConfigureAwait(false);
            }
        }
        finally
        {
            if (!succeeded)
            {
                await SaveFinalCheckpointAsync().ConfigureAwait(false);
            }

            progressTimer.Dispose();
            await progressLoop.ConfigureAwait(false);
            _slots.Dispose();
            TransferMetrics.Transfers.Add(1, new KeyValuePair<string, object?>("outcome", succeeded ? "ok" : "failed"));
        }

        SetPhase(TransferPhase.Completed);
        var summary = Summarize();
        TransferLog.Done(_logger, _sink.Name, summary.BytesWritten, summary.BytesZeroed, summary.BytesSkipped, summary.BytesResumed,
            summary.Duration.TotalSeconds, summary.Retries);
        return summary;
    }

    private async Task PlanAsync(CancellationToken cancellationToken)
    {
        _alignment = Math.Max(1, _sink.MinimumBlockSize);
        _total = (_capacity + _alignment - 1) / _alignment * _alignment;
        if (_total > _sink.Capacity)
        {
            throw new TransferException(string.Create(CultureInfo.InvariantCulture,
                $"The source {SourceName} is {_capacity} bytes, larger than the target {_sink.Name} of {_sink.Capacity} bytes; resize the target first."));
        }

        if (_options.Verify && !_sink.CanRead)
        {
            throw new TransferException($"The target {_sink.Name} cannot be read back, so it cannot be verified.");
        }

        _requestSize = ChooseRequestSize();
        _zeroBlockSize = Math.Max(_options.ZeroBlockSize, _alignment);
        _window = _options.MaxRequestsInFlight;
        _bandwidth = _options.BandwidthLimit is { } limit ? new BandwidthLimiter(limit) : null;

        _key = DiskTransfer.CheckpointKey(_sourceInfo, _options.SourceIdentity, _sink, _options.TargetIdentity);
        _work = _total;
        if (_ranges is not null)
        {
            _ranges = AlignRanges(_ranges);
            _work = _ranges.Sum(r => r.Length);
            _targetIsZero = false;
            return;
        }

        TransferCheckpoint? checkpoint = null;
        if (_options.CheckpointStore is { } store)
        {
            checkpoint = await store.LoadAsync(_key, cancellationToken).ConfigureAwait(false);
            if (checkpoint is not null && checkpoint.TotalBytes != _total)
            {
                checkpoint = null;
            }
        }

        _completed = new RangeSet(checkpoint?.Completed);
        _resumed = _completed.TotalBytes;
        _targetIsZero = _options.TargetIsZero ?? checkpoint?.TargetIsZero ?? await ProbeTargetIsZeroAsync(cancellationToken).ConfigureAwait(false);
    }

    private async Task<bool> ProbeTargetIsZeroAsync(CancellationToken cancellationToken)
    {
        try
        {
            return await _sink.ReadsAsZeroAsync(0, _total, cancellationToken).ConfigureAwait(false);
        }
        catch (IOException)
        {
            return false;
        }
    }

    /// <summary>The largest request: the option or the default, within the sink's maximum, a multiple of its block sizes.</summary>
    private int ChooseRequestSize()
    {
        var size = Math.Min(_options.RequestSize ?? DiskTransferOptions.DefaultRequestSize, _sink.MaximumRequestSize);
        var unit = _sink.PreferredBlockSize > _alignment && _sink.PreferredBlockSize <= size && _sink.PreferredBlockSize % _alignment == 0
            ? _sink.PreferredBlockSize
            : _alignment;
        size = size / unit * unit;
        if (size < _alignment)
        {
            throw new TransferException(string.Create(CultureInfo.InvariantCulture,
                $"A request size of {_options.RequestSize} bytes is smaller than the target {_sink.Name}'s minimum block size of {_alignment} bytes."));
        }

        return size;
    }

    /// <summary>The ranges widened to the target's block size, clipped to the target's covered size, and merged.</summary>
    private List<TransferRange> AlignRanges(IReadOnlyList<TransferRange> ranges)
    {
        var aligned = new List<TransferRange>();
        var previousEnd = 0L;
        foreach (var range in ranges)
        {
            if (range.Offset < previousEnd || range.Length < 0 || range.End > _capacity)
            {
                throw new ArgumentException(string.Create(CultureInfo.InvariantCulture,
                    $"The range at {range.Offset} length {range.Length} is not sorted, overlaps, or ends beyond the source's {_capacity} bytes."), nameof(ranges));
            }

            previousEnd = range.End;
            if (range.Length == 0)
            {
                continue;
            }

            var start = range.Offset / _alignment * _alignment;
            var end = Math.Min((range.End + _alignment - 1) / _alignment * _alignment, _total);
            if (aligned.Count > 0 && aligned[^1].End >= start)
            {
                aligned[^1] = aligned[^1] with { Length = Math.Max(aligned[^1].End, end) - aligned[^1].Offset };
            }
            else
            {
                aligned.Add(new TransferRange(start, end - start));
            }
        }

        return aligned;
    }

    private async IAsyncEnumerable<(long Offset, long Length, bool IsData)> PlannedRunsAsync(IVirtualDisk disk,
        [System.Runtime.CompilerServices.EnumeratorCancellation] CancellationToken cancellationToken)
    {
        if (_ranges is null)
        {
            await foreach (var run in AlignedExtentsAsync(disk, cancellationToken).ConfigureAwait(false))
            {
                yield return run;
            }

            yield break;
        }

        foreach (var range in _ranges)
        {
            yield return (range.Offset, range.Length, true);
        }
    }

    private async Task CopyRandomAccessAsync(IVirtualDisk disk, CancellationToken cancellationToken)
    {
        await foreach (var (offset, length, isData) in PlannedRunsAsync(disk, cancellationToken).ConfigureAwait(false))
        {
            foreach (var missing in _completed.Missing(offset, length))
            {
                if (!isData)
                {
                    await StartZeroingAsync(missing, cancellationToken).ConfigureAwait(false);
                    continue;
                }

                for (var position = missing.Offset; position < missing.End;)
                {
                    var end = Math.Min(missing.End, (position / _requestSize + 1) * _requestSize);
                    var length32 = (int)(end - position);
                    var buffer = await RentAsync(cancellationToken).ConfigureAwait(false);
                    _ = CopyBlockAsync(disk, position, length32, buffer, cancellationToken);
                    position = end;
                }
            }
        }
    }

    /// <summary>The source's extents as data or zero runs aligned to the target's minimum block size (see <see cref="ExtentAligner"/>).</summary>
    private async IAsyncEnumerable<(long Offset, long Length, bool IsData)> AlignedExtentsAsync(IVirtualDisk disk,
        [System.Runtime.CompilerServices.EnumeratorCancellation] CancellationToken cancellationToken)
    {
        var aligner = new ExtentAligner(_alignment, _total);
        var runs = new List<(long Offset, long Length, bool IsData)>();
        await foreach (var extent in disk.GetExtentsAsync(0, _capacity, cancellationToken).ConfigureAwait(false))
        {
            aligner.Add(extent.Offset, extent.End, extent.Kind == DiskExtentKind.Data, runs);
            foreach (var run in runs)
            {
                yield return run;
            }

            runs.Clear();
        }

        aligner.Finish(_capacity, runs);
        foreach (var run in runs)
        {
            yield return run;
        }
    }

    private async Task CopyBlockAsync(IVirtualDisk disk, long offset, int length, Memory<byte> buffer, CancellationToken cancellationToken)
    {
        try
        {
            var block = buffer[..length];
            var readable = (int)Math.Min(length, _capacity - offset);
            try
            {
                await disk.ReadAsync(offset, block[..readable], cancellationToken).ConfigureAwait(false);
            }
            catch (Exception ex) when (ex is not OperationCanceledException)
            {
                throw new TransferException(string.Create(CultureInfo.InvariantCulture,
                    $"Reading the source {SourceName} at offset {offset} length {readable} failed: {ex.Message}"), ex);
            }

            block.Span[readable..].Clear();
            AddRead(readable);
            await WriteBlockAsync(block, offset, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception ex)
        {
            Fail(ex);
        }
        finally
        {
            _buffers.Return(buffer);
            _slots.Release();
        }
    }

    private async Task CopySequentialAsync(ISequentialDisk stream, CancellationToken cancellationToken)
    {
        var covered = new RangeSet();
        Memory<byte> buffer = default;
        long window = -1, low = long.MaxValue, high = 0;

        // A window is written as one span from its lowest to its highest byte, the gaps as zero: right when chunks come
        // in offset order (nothing later falls into a gap), wrong when they do not (a VMA cluster arriving after its
        // neighbours would be overwritten or skipped as done). Out of order, a chunk that does not continue the window
        // starts a new one.
        var inOrder = stream.ChunksInOffsetOrder;
        await foreach (var chunk in stream.ReadChunksAsync(cancellationToken).ConfigureAwait(false))
        {
            if (chunk.Offset < 0 || chunk.Length < 0 || chunk.Length > _capacity - chunk.Offset)
            {
                throw new TransferException(string.Create(CultureInfo.InvariantCulture,
                    $"The source {SourceName} produced a chunk at offset {chunk.Offset} length {chunk.Length}, outside its capacity of {_capacity} bytes."));
            }

            if (chunk.Kind != DiskChunkKind.Data)
            {
                continue;
            }

            AddRead(chunk.Length);
            var data = chunk.Data;
            var position = chunk.Offset;
            while (!data.IsEmpty)
            {
                var start = position / _requestSize * _requestSize;
                if (start != window || (!inOrder && low != long.MaxValue && position != high))
                {
                    if (!buffer.IsEmpty)
                    {
                        await DispatchWindowAsync(buffer, window, low, high, covered, cancellationToken).ConfigureAwait(false);
                    }

                    // The slot is taken when the window is dispatched (below), not while it fills.
                    buffer = await _buffers.RentAsync(cancellationToken).ConfigureAwait(false);
                    buffer.Span.Clear();
                    (window, low, high) = (start, long.MaxValue, 0);
                }

                var count = (int)Math.Min(data.Length, start + _requestSize - position);
                data.Span[..count].CopyTo(buffer.Span[(int)(position - start)..]);
                low = Math.Min(low, position);
                high = Math.Max(high, position + count);
                data = data[count..];
                position += count;
            }
        }

        if (!buffer.IsEmpty)
        {
            await DispatchWindowAsync(buffer, window, low, high, covered, cancellationToken).ConfigureAwait(false);
        }

        // Whatever no data chunk covered reads as zero (zero runs, unallocated gaps, the rounded-up tail).
        foreach (var hole in covered.Missing(0, _total))
        {
            foreach (var missing in _completed.Missing(hole.Offset, hole.Length))
            {
                await StartZeroingAsync(missing, cancellationToken).ConfigureAwait(false);
            }
        }
    }

    /// <summary>Starts the writes of one window's buffer: the block-aligned span its chunks covered, less what a checkpoint holds.</summary>
    private async Task DispatchWindowAsync(Memory<byte> buffer, long window, long low, long high, RangeSet covered, CancellationToken cancellationToken)
    {
        var start = low / _alignment * _alignment;
        var end = Math.Min((high + _alignment - 1) / _alignment * _alignment, _total);
        covered.Add(start, end - start);
        var missing = _completed.Missing(start, end - start);
        if (missing.Count == 0)
        {
            _buffers.Return(buffer);
            return;
        }

        try
        {
            await _slots.WaitAsync(cancellationToken).ConfigureAwait(false);
        }
        catch
        {
            _buffers.Return(buffer);
            throw;
        }

        _ = WriteWindowAsync(buffer, window, missing, cancellationToken);
    }

    private async Task WriteWindowAsync(Memory<byte> buffer, long window, List<TransferRange> ranges, CancellationToken cancellationToken)
    {
        try
        {
            foreach (var range in ranges)
            {
                await WriteBlockAsync(buffer.Slice((int)(range.Offset - window), (int)range.Length), range.Offset, cancellationToken).ConfigureAwait(false);
            }
        }
        catch (Exception ex)
        {
            Fail(ex);
        }
        finally
        {
            _buffers.Return(buffer);
            _slots.Release();
        }
    }

    /// <summary>Writes one block of source content: all-zero runs are skipped or zeroed, the rest written; then marks it completed.</summary>
    private async Task WriteBlockAsync(ReadOnlyMemory<byte> block, long offset, CancellationToken cancellationToken)
    {
        if (_options.Verify)
        {
            AddVerifyBlock(new VerifyBlock(offset, block.Length, XxHash128.HashToUInt128(block.Span)));
        }

        List<Task>? writes = null;
        var position = 0;
        while (position < block.Length)
        {
            var span = block.Span[position..];
            var zeroes = ZeroBlocks.ZeroPrefixLength(span, _zeroBlockSize);
            Task write;
            if (zeroes > 0)
            {
                if (_targetIsZero)
                {
                    AddSkipped(zeroes);
                    position += zeroes;
                    continue;
                }

                write = ZeroAsync(offset + position, zeroes, cancellationToken);
                position += zeroes;
            }
            else
            {
                var length = ZeroBlocks.DataPrefixLength(span, _zeroBlockSize);
                write = WriteAsync(offset + position, block.Slice(position, length), cancellationToken);
                position += length;
            }

            (writes ??= []).Add(write);
        }

        if (writes is not null)
        {
            await Task.WhenAll(writes).ConfigureAwait(false);
        }

        _completed.Add(offset, block.Length);
    }

    private async Task WriteAsync(long offset, ReadOnlyMemory<byte> data, CancellationToken cancellationToken)
    {
        if (_bandwidth is not null)
        {
            await _bandwidth.WaitAsync(data.Length, cancellationToken).ConfigureAwait(false);
        }

        await SendAsync(static (sink, offset, state, ct) => sink.WriteAsync(offset, (ReadOnlyMemory<byte>)state!, ct), offset, data, "WRITE",
            cancellationToken, () => Interlocked.Increment(ref _writeRequests)).ConfigureAwait(false);
        Interlocked.Add(ref _written, data.Length);
        TransferMetrics.AddBytes(data.Length, "written");
    }

    private async Task ZeroAsync(long offset, long length, CancellationToken cancellationToken)
    {
        await SendAsync(static (sink, offset, state, ct) => sink.WriteZeroesAsync(offset, (long)state!, ct), offset, length, "WRITE_ZEROES",
            cancellationToken, () => Interlocked.Increment(ref _zeroRequests)).ConfigureAwait(false);
        Interlocked.Add(ref _zeroed, length);
        TransferMetrics.AddBytes(length, "zeroed");
    }

    /// <summary>A zero run of the source: skipped on a zero target, else zeroed in requests of at most <see cref="DiskTransferOptions.MaxZeroRequest"/>.</summary>
    private async Task StartZeroingAsync(TransferRange range, CancellationToken cancellationToken)
    {
        if (_options.Verify)
        {
            AddVerifyBlock(new VerifyBlock(range.Offset, range.Length, null));
        }

        if (_targetIsZero)
        {
            AddSkipped(range.Length);
            _completed.Add(range.Offset, range.Length);
            return;
        }

        var step = DiskTransferOptions.MaxZeroRequest / _alignment * _alignment;
        for (var offset = range.Offset; offset < range.End; offset += step)
        {
            var length = Math.Min(step, range.End - offset);
            await _slots.WaitAsync(cancellationToken).ConfigureAwait(false);
            _ = ZeroRunAsync(offset, length, cancellationToken);
        }
    }

    private async Task ZeroRunAsync(long offset, long length, CancellationToken cancellationToken)
    {
        try
        {
            await ZeroAsync(offset, length, cancellationToken).ConfigureAwait(false);
            _completed.Add(offset, length);
        }
        catch (Exception ex)
        {
            Fail(ex);
        }
        finally
        {
            _slots.Release();
        }
    }

    /// <summary>Sends one request, retrying it after transient failures the sink recovers from (bounded, with backoff).</summary>
    private async Task SendAsync(Func<IBlockSink, long, object?, CancellationToken, ValueTask> send, long offset, object? state, string command,
        CancellationToken cancellationToken, Action? counted = null)
    {
        for (var attempt = 0; ; attempt++)
        {
            try
            {
                counted?.Invoke();
                await send(_sink, offset, state, cancellationToken).ConfigureAwait(false);
                return;
            }
            catch (Exception ex) when (!(ex is OperationCanceledException && cancellationToken.IsCancellationRequested))
            {
                var recovered = attempt < _options.MaxRetries && await _sink.RecoverAsync(ex, cancellationToken).ConfigureAwait(false);
                if (!recovered)
                {
                    var retried = attempt == 0 ? string.Empty : string.Create(CultureInfo.InvariantCulture, $" after {attempt} retries");
                    var resume = Store is null
                        ? string.Empty
                        : " The checkpoint holds what was completed; run the same transfer again to resume.";
                    throw new TransferException(string.Create(CultureInfo.InvariantCulture,
                        $"The target {_sink.Name} failed {command} at offset {offset}{retried}: {ex.Message}.{resume}"), ex);
                }

                Interlocked.Increment(ref _retries);
                TransferMetrics.Retries.Add(1);
                TransferLog.Retrying(_logger, _sink.Name, offset, ex.Message, attempt + 1, _options.MaxRetries);
                await Task.Delay(_options.RetryDelay * Math.Pow(2, attempt), cancellationToken).ConfigureAwait(false);
            }
        }
    }

    private async Task<Memory<byte>> RentAsync(CancellationToken cancellationToken)
    {
        await _slots.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            return await _buffers.RentAsync(cancellationToken).ConfigureAwait(false);
        }
        catch
        {
            _slots.Release();
            throw;
        }
    }

    private void Fail(Exception exception)
    {
        if (exception is OperationCanceledException && _stop!.IsCancellationRequested)
        {
            // Stopped on purpose: by the caller, or because another request failed first.
            return;
        }

        if (Interlocked.CompareExchange(ref _failure, ExceptionDispatchInfo.Capture(exception), null) is null)
        {
            _stop!.Cancel();
        }
    }

    private async Task WaitForRequestsAsync()
    {
        for (var i = 0; i < _window; i++)
        {
            await _slots.WaitAsync(CancellationToken.None).ConfigureAwait(false);
        }

        _slots.Release(_window);
    }

    /// <summary>Saves a checkpoint per tick until <paramref name="timer"/> is disposed; <paramref name="cancellationToken"/> stops a save under way.</summary>
    private async Task CheckpointLoopAsync(PeriodicTimer timer, CancellationToken cancellationToken)
    {
        try
        {
            while (await timer.WaitForNextTickAsync(CancellationToken.None).ConfigureAwait(false))
            {
                await SaveCheckpointAsync(cancellationToken).ConfigureAwait(false);
            }
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
        }
    }

    /// <summary>Flushes the target, then records what was completed before the flush: a checkpoint never claims data the target may lose.</summary>
    private Exception? _checkpointFailure;

    private async Task<bool> SaveCheckpointAsync(CancellationToken cancellationToken)
    {
        var completed = _completed.Snapshot();
        try
        {
            if (_options.Flush)
            {
                await _sink.FlushAsync(cancellationToken).ConfigureAwait(false);
            }

            await _options.CheckpointStore!.SaveAsync(new TransferCheckpoint(_key, _total, _targetIsZero, completed), cancellationToken).ConfigureAwait(false);
            TransferLog.CheckpointSaved(_logger, completed.Sum(r => r.Length), _total);
            return true;
        }
        catch (Exception ex) when (ex is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
        {
            _checkpointFailure = ex;
            TransferLog.CheckpointFailed(_logger, ex.Message);
            return false;
        }
    }

    /// <summary>After a failure or cancellation: records what was done if the target still answers a FLUSH (bounded wait).</summary>
    private async Task SaveFinalCheckpointAsync()
    {
        if (Store is null || _phase != TransferPhase.Copying)
        {
            return;
        }

        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        try
        {
            // The connection that failed the transfer may be the one the FLUSH went to: the writes that completed
            // before it broke are on the target all the same, so connect again (when the sink can) and record them.
            if (!await SaveCheckpointAsync(timeout.Token).ConfigureAwait(false)
                && _checkpointFailure is { } failure and not OperationCanceledException
                && await _sink.RecoverAsync(failure, timeout.Token).ConfigureAwait(false))
            {
                await SaveCheckpointAsync(timeout.Token).ConfigureAwait(false);
            }
        }
        catch (OperationCanceledException)
        {
            TransferLog.CheckpointFailed(_logger, "the target did not answer a FLUSH in time");
        }
        catch (IOException ex)
        {
            TransferLog.CheckpointFailed(_logger, ex.Message);
        }
    }

    private async Task VerifyAsync(CancellationToken cancellationToken)
    {
        List<VerifyBlock> blocks;
        lock (_verifyLock)
        {
            blocks = [.. _verifyBlocks.OrderBy(b => b.Offset)];
        }

        var mismatches = new RangeSet();
        var parallel = new ParallelOptions { MaxDegreeOfParallelism = Math.Clamp(_window, 1, 16), CancellationToken = cancellationToken };
        await Parallel.ForEachAsync(blocks, parallel, async (block, ct) =>
        {
            for (var offset = block.Offset; offset < block.Offset + block.Length;)
            {
                var length = (int)Math.Min(_requestSize, block.Offset + block.Length - offset);
                if (block.Hash is null && await ReadsAsZeroAsync(offset, block.Offset + block.Length - offset, ct).ConfigureAwait(false))
                {
                    Interlocked.Add(ref _verified, block.Offset + block.Length - offset);
                    break;
                }

                if (block.Hash is not null)
                {
                    length = (int)block.Length;
                }

                var buffer = await _buffers.RentAsync(ct).ConfigureAwait(false);
                try
                {
                    var memory = buffer[..length];
                    await SendAsync(static (sink, offset, state, c) => sink.ReadAsync(offset, (Memory<byte>)state!, c), offset, memory, "READ", ct).ConfigureAwait(false);
                    var same = block.Hash is { } hash
                        ? XxHash128.HashToUInt128(memory.Span) == hash
                        : !memory.Span.ContainsAnyExcept((byte)0);
                    if (!same)
                    {
                        mismatches.Add(offset, length);
                    }
                }
                finally
                {
                    _buffers.Return(buffer);
                }

                Interlocked.Add(ref _verified, length);
                offset += length;
            }
        }).ConfigureAwait(false);

        var differing = mismatches.Snapshot();
        if (differing.Count > 0)
        {
            throw new TransferVerificationException(_sink.Name, differing);
        }
    }

    private async Task<bool> ReadsAsZeroAsync(long offset, long length, CancellationToken cancellationToken)
    {
        try
        {
            return await _sink.ReadsAsZeroAsync(offset, length, cancellationToken).ConfigureAwait(false);
        }
        catch (IOException)
        {
            return false;
        }
    }

    private void AddVerifyBlock(VerifyBlock block)
    {
        lock (_verifyLock)
        {
            _verifyBlocks.Add(block);
        }
    }

    private void AddRead(long bytes)
    {
        Interlocked.Add(ref _read, bytes);
        TransferMetrics.AddBytes(bytes, "read");
    }

    private void AddSkipped(long bytes)
    {
        Interlocked.Add(ref _skipped, bytes);
        TransferMetrics.AddBytes(bytes, "skipped");
    }

    private void SetPhase(TransferPhase phase)
    {
        _phase = phase;
        _report(Snapshot());
    }

    /// <summary>Reports a snapshot per tick until <paramref name="timer"/> is disposed.</summary>
    private async Task ProgressLoopAsync(PeriodicTimer timer)
    {
        while (await timer.WaitForNextTickAsync(CancellationToken.None).ConfigureAwait(false))
        {
            _report(Snapshot());
        }
    }

    private TransferProgress Snapshot()
    {
        var elapsed = _clock.Elapsed;
        var written = Interlocked.Read(ref _written);
        lock (_verifyLock)
        {
            var interval = (elapsed - _lastTick).TotalSeconds;
            if (interval >= 0.05)
            {
                _peakRate = Math.Max(_peakRate, (written - _lastWritten) / interval);
                (_lastWritten, _lastTick) = (written, elapsed);
            }
        }

        var completed = _phase == TransferPhase.Planning ? _resumed : _completed.TotalBytes;
        var doneThisRun = completed - _resumed;
        TimeSpan? remaining = doneThisRun > 0 && _phase == TransferPhase.Copying
            ? TimeSpan.FromSeconds(elapsed.TotalSeconds * Math.Max(0, _work - completed) / doneThisRun)
            : null;
        return new TransferProgress
        {
            Phase = _phase,
            TotalBytes = _work,
            CompletedBytes = completed,
            BytesRead = Interlocked.Read(ref _read),
            BytesWritten = written,
            BytesZeroed = Interlocked.Read(ref _zeroed),
            BytesSkipped = Interlocked.Read(ref _skipped),
            BytesResumed = _resumed,
            Retries = Volatile.Read(ref _retries),
            Elapsed = elapsed,
            BytesPerSecond = written / Math.Max(elapsed.TotalSeconds, 1e-6),
            EstimatedRemaining = remaining,
        };
    }

    private TransferSummary Summarize()
    {
        var progress = Snapshot();
        var seconds = Math.Max(progress.Elapsed.TotalSeconds, 1e-6);
        return new TransferSummary
        {
            Source = SourceName,
            Target = _sink.Name,
            TotalBytes = _work,
            BytesRead = progress.BytesRead,
            BytesWritten = progress.BytesWritten,
            BytesZeroed = progress.BytesZeroed,
            BytesSkipped = progress.BytesSkipped,
            BytesResumed = _resumed,
            WriteRequests = Interlocked.Read(ref _writeRequests),
            ZeroRequests = Interlocked.Read(ref _zeroRequests),
            Retries = progress.Retries,
            TargetIsZero = _targetIsZero,
            BytesVerified = Interlocked.Read(ref _verified),
            Duration = progress.Elapsed,
            AverageBytesPerSecond = progress.BytesWritten / seconds,
            PeakBytesPerSecond = Math.Max(_peakRate, progress.BytesWritten / seconds),
        };
    }

    /// <summary>What a range of the source held: a hash of its bytes, or null for zeroes.</summary>
    private readonly record struct VerifyBlock(long Offset, long Length, UInt128? Hash);
}
