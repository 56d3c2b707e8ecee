using System.Collections.Concurrent;

namespace Whitesky.Migration.Transfer;

/// <summary>
/// A bounded set of equal-sized, pinned request buffers, allocated on first use and reused: renting
/// waits while all are in flight, which also bounds the memory a copy holds.
/// </summary>
internal sealed class RequestBufferPool : IDisposable
{
    private readonly ConcurrentStack<byte[]> _free = new();
    private readonly SemaphoreSlim _available;

    public RequestBufferPool(int bufferSize, int count)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(bufferSize, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(count, 1);
        BufferSize = bufferSize;
        Count = count;
        _available = new SemaphoreSlim(count, count);
    }

    public int BufferSize { get; }

    public int Count { get; }

    public async ValueTask<byte[]> RentAsync(CancellationToken cancellationToken)
    {
        await _available.WaitAsync(cancellationToken).ConfigureAwait(false);
        return _free.TryPop(out var buffer) ? buffer : GC.AllocateUninitializedArray<byte>(BufferSize, pinned: true);
    }

    public void Return(byte[] buffer)
    {
        _free.Push(buffer);
        _available.Release();
    }

    public void Dispose() => _available.Dispose();
}
