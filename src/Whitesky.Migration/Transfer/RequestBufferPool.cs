using System.Buffers;
using System.Collections.Concurrent;
using System.Runtime.InteropServices;

namespace Whitesky.Migration.Transfer;

/// <summary>
/// A bounded set of equal-sized request buffers carved out of one native memory region and reused: renting waits
/// while all are in flight, which also bounds the memory a copy holds.
/// </summary>
/// <remarks>
/// <para>
/// The region is reserved up front but the kernel only backs the pages a copy touches. On Linux it is aligned to
/// and advised for transparent huge pages (<c>MADV_HUGEPAGE</c>): first touching 64 MiB of buffers then costs 32
/// page faults instead of 16,384, and the process unmaps them as fast at exit. Measured on the benchmark machine,
/// those faults were a tenth of a copy's CPU time. The advice is best effort: a kernel that refuses it (THP
/// disabled) leaves ordinary pages.
/// </para>
/// <para>
/// The region is freed only when the pool is disposed <em>and</em> every rented buffer has come back, so a write
/// still in flight after a failed copy never points into freed memory.
/// </para>
/// </remarks>
internal sealed partial class RequestBufferPool : IDisposable
{
    /// <summary>The size of an x86-64/arm64 transparent huge page, the region's alignment.</summary>
    internal const int HugePageSize = 2 * 1024 * 1024;

    private const int MadviseHugePage = 14; // MADV_HUGEPAGE, linux/mman.h

    private readonly ConcurrentStack<Memory<byte>> _free = new();
    private readonly SemaphoreSlim _available;
    private readonly NativeRegion _region;
    private int _outstanding;
    private int _created;
    private int _disposed;

    public RequestBufferPool(int bufferSize, int count)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(bufferSize, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(count, 1);
        BufferSize = bufferSize;
        Count = count;
        _region = new NativeRegion(checked((long)bufferSize * count));
        _available = new SemaphoreSlim(count, count);
    }

    public int BufferSize { get; }

    public int Count { get; }

    /// <summary>Whether the kernel accepted the huge-page advice for the region (in the transfer's debug log; tests read it).</summary>
    public bool HugePages => _region.HugePages;

    public async ValueTask<Memory<byte>> RentAsync(CancellationToken cancellationToken)
    {
        ObjectDisposedException.ThrowIf(Volatile.Read(ref _disposed) != 0, this);
        await _available.WaitAsync(cancellationToken).ConfigureAwait(false);
        Interlocked.Increment(ref _outstanding);
        if (_free.TryPop(out var buffer))
        {
            return buffer;
        }

        // Buffers are carved in order, so the first ones rented (and reused while the target keeps up) share pages.
        var index = Interlocked.Increment(ref _created) - 1;
        return _region.Memory.Slice(checked(index * BufferSize), BufferSize);
    }

    public void Return(Memory<byte> buffer)
    {
        _free.Push(buffer);
        if (Interlocked.Decrement(ref _outstanding) == 0 && Volatile.Read(ref _disposed) != 0)
        {
            _region.Release();
        }

        if (Volatile.Read(ref _disposed) == 0)
        {
            try
            {
                _available.Release();
            }
            catch (ObjectDisposedException)
            {
                // Disposed between the check and the release: nobody waits for the slot any more.
            }
        }
    }

    public void Dispose()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }

        if (Volatile.Read(ref _outstanding) == 0)
        {
            _region.Release();
        }

        _available.Dispose();
    }

    /// <summary>One native allocation exposed as <see cref="Memory{T}"/>; freed once by <see cref="Release"/>.</summary>
    private sealed unsafe partial class NativeRegion : MemoryManager<byte>
    {
        private readonly int _length;
        private nint _pointer;

        public NativeRegion(long length)
        {
            if (length > int.MaxValue)
            {
                throw new ArgumentOutOfRangeException(nameof(length), length, "Request buffers are limited to 2 GiB in all.");
            }

            _length = (int)length;
            var rounded = (nuint)((length + HugePageSize - 1) / HugePageSize * HugePageSize);
            var pointer = NativeMemory.AlignedAlloc(rounded, HugePageSize);
            _pointer = (nint)pointer;
            HugePages = OperatingSystem.IsLinux() && madvise(pointer, rounded, MadviseHugePage) == 0;
        }

        public bool HugePages { get; }

        public void Release()
        {
            var pointer = Interlocked.Exchange(ref _pointer, 0);
            if (pointer != 0)
            {
                NativeMemory.AlignedFree((void*)pointer);
            }
        }

        public override Span<byte> GetSpan() => new(Live(), _length);

        public override MemoryHandle Pin(int elementIndex = 0)
        {
            ArgumentOutOfRangeException.ThrowIfNegative(elementIndex);
            ArgumentOutOfRangeException.ThrowIfGreaterThan(elementIndex, _length);
            return new MemoryHandle(Live() + elementIndex);
        }

        public override void Unpin()
        {
        }

        protected override void Dispose(bool disposing) => Release();

        private byte* Live()
        {
            var pointer = Volatile.Read(ref _pointer);
            ObjectDisposedException.ThrowIf(pointer == 0, this);
            return (byte*)pointer;
        }

        [LibraryImport("libc")]
        private static partial int madvise(void* address, nuint length, int advice);
    }
}
