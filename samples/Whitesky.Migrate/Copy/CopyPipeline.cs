using System.Runtime.ExceptionServices;
using Microsoft.Win32.SafeHandles;
using Whitesky.Nbd;

namespace Whitesky.Migrate.Copy;

/// <summary>
/// Runs one copy: walks the source's extents in order and keeps a window of requests in flight. Each
/// data chunk is read into a pooled buffer, split into data and all-zero blocks, and written; zero runs
/// and holes are skipped when the target already reads as zero, else zeroed. The first failure stops
/// the walk; every request already started is waited for before the failure is rethrown.
/// </summary>
internal sealed class CopyPipeline
{
    private readonly NbdClient _target;
    private readonly SafeFileHandle _file;
    private readonly RequestBufferPool _buffers;
    private readonly TargetZeroer _zeroer;
    private readonly CopyStatistics _statistics;
    private readonly bool _targetIsZero;
    private readonly int _zeroBlockSize;
    private readonly int _window;
    private readonly SemaphoreSlim _slots;
    private CancellationTokenSource? _stop;
    private ExceptionDispatchInfo? _failure;

    public CopyPipeline(NbdClient target, SafeFileHandle file, RequestBufferPool buffers, TargetZeroer zeroer, CopyStatistics statistics,
        bool targetIsZero, int zeroBlockSize, int window)
    {
        _target = target;
        _file = file;
        _buffers = buffers;
        _zeroer = zeroer;
        _statistics = statistics;
        _targetIsZero = targetIsZero;
        _zeroBlockSize = zeroBlockSize;
        _window = window;
        _slots = new SemaphoreSlim(window, window);
    }

    public async Task RunAsync(IReadOnlyList<FileExtent> extents, CancellationToken cancellationToken)
    {
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        _stop = stop;
        try
        {
            await StartRequestsAsync(extents, stop.Token);
        }
        catch (OperationCanceledException) when (Volatile.Read(ref _failure) is not null)
        {
            // A request failed and stopped the walk; its error is rethrown below.
        }
        finally
        {
            await WaitForRequestsAsync();
            _slots.Dispose();
        }

        Volatile.Read(ref _failure)?.Throw();
        cancellationToken.ThrowIfCancellationRequested();
    }

    private async Task StartRequestsAsync(IReadOnlyList<FileExtent> extents, CancellationToken cancellationToken)
    {
        foreach (var extent in extents)
        {
            if (!extent.IsData && _targetIsZero)
            {
                _statistics.AddZeroSkipped(extent.Length);
                _statistics.AddCompleted(extent.Length);
                continue;
            }

            var step = extent.IsData ? _buffers.BufferSize : _zeroer.MaxRequestLength;
            for (var offset = extent.Offset; offset < extent.End; offset += step)
            {
                var length = Math.Min(step, extent.End - offset);
                await _slots.WaitAsync(cancellationToken);
                if (!extent.IsData)
                {
                    _ = ZeroHoleAsync(offset, length, cancellationToken);
                    continue;
                }

                byte[] buffer;
                try
                {
                    buffer = await _buffers.RentAsync(cancellationToken);
                }
                catch
                {
                    _slots.Release();
                    throw;
                }

                _ = CopyChunkAsync(offset, (int)length, buffer, cancellationToken);
            }
        }
    }

    private async Task CopyChunkAsync(long offset, int length, byte[] buffer, CancellationToken cancellationToken)
    {
        try
        {
            var chunk = buffer.AsMemory(0, length);
            await ReadAsync(chunk, offset, cancellationToken);
            await WriteChunk(chunk, offset, cancellationToken);
            _statistics.AddCompleted(length);
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

    private async Task ZeroHoleAsync(long offset, long length, CancellationToken cancellationToken)
    {
        try
        {
            await _zeroer.ZeroAsync(offset, length, cancellationToken);
            _statistics.AddZeroWritten(length);
            _statistics.AddCompleted(length);
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

    /// <summary>Fills <paramref name="chunk"/> from the file; bytes past its end (the tail rounded up to the block size) read as zero.</summary>
    private async Task ReadAsync(Memory<byte> chunk, long offset, CancellationToken cancellationToken)
    {
        var filled = 0;
        while (filled < chunk.Length)
        {
            var read = await RandomAccess.ReadAsync(_file, chunk[filled..], offset + filled, cancellationToken);
            if (read == 0)
            {
                chunk.Span[filled..].Clear();
                return;
            }

            filled += read;
        }
    }

    /// <summary>Starts the writes of one chunk: data blocks as WRITE, all-zero blocks skipped or zeroed.</summary>
    private Task WriteChunk(ReadOnlyMemory<byte> chunk, long offset, CancellationToken cancellationToken)
    {
        Task? single = null;
        List<Task>? several = null;
        try
        {
            var span = chunk.Span;
            var position = 0;
            while (position < span.Length)
            {
                var zeroes = ZeroBlocks.ZeroPrefixLength(span[position..], _zeroBlockSize);
                if (zeroes > 0)
                {
                    if (_targetIsZero)
                    {
                        _statistics.AddZeroSkipped(zeroes);
                    }
                    else
                    {
                        _statistics.AddZeroWritten(zeroes);
                        Track(_zeroer.ZeroAsync(offset + position, zeroes, cancellationToken));
                    }

                    position += zeroes;
                    continue;
                }

                var data = ZeroBlocks.DataPrefixLength(span[position..], _zeroBlockSize);
                _statistics.AddData(data);
                Track(_target.WriteAsync(offset + position, chunk.Slice(position, data), cancellationToken: cancellationToken).AsTask());
                position += data;
            }
        }
        catch (Exception ex)
        {
            // Requests already started still use the buffer: the caller must wait for them too.
            Track(Task.FromException(ex));
        }

        return several is not null ? Task.WhenAll(several) : single ?? Task.CompletedTask;

        void Track(Task task)
        {
            if (single is null && several is null)
            {
                single = task;
                return;
            }

            several ??= [single!];
            several.Add(task);
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
            await _slots.WaitAsync(CancellationToken.None);
        }
    }
}
