using System.Collections.Concurrent;
using Whitesky.Nbd.Server;

namespace Whitesky.Nbd.Tests.Server.Interop;

/// <summary>One call the server made into a backend, with the flags it passed down.</summary>
internal sealed record BackendCall(string Operation, long Offset, long Length, bool Fua = false, bool MayPunchHole = false, bool FastOnly = false);

/// <summary>
/// An <see cref="ArrayBackend"/> that records every call the server makes, so a test can check that
/// request flags (FUA, NO_HOLE, FAST_ZERO) arrive as the backend's arguments. With
/// <see cref="SlowZeroes"/> it advertises fast zeroing but, like a backend that would have to write
/// buffers, answers a FAST_ZERO request with ENOTSUP.
/// </summary>
internal sealed class RecordingBackend : NbdBackend
{
    private readonly ConcurrentQueue<BackendCall> _calls = new();

    public RecordingBackend(ArrayBackend inner) => Inner = inner;

    public ArrayBackend Inner { get; }

    public bool SlowZeroes { get; init; }

    public IReadOnlyList<BackendCall> Calls => [.. _calls];

    public override long Size => Inner.Size;

    public override bool CanTrim => true;

    public override bool CanFastZero => true;

    public override bool CanFlush => true;

    public override bool CanReportAllocation => true;

    public override ValueTask ReadAsync(long offset, Memory<byte> buffer, CancellationToken cancellationToken)
    {
        _calls.Enqueue(new BackendCall("read", offset, buffer.Length));
        return Inner.ReadAsync(offset, buffer, cancellationToken);
    }

    public override ValueTask WriteAsync(long offset, ReadOnlyMemory<byte> data, bool fua, CancellationToken cancellationToken)
    {
        _calls.Enqueue(new BackendCall("write", offset, data.Length, fua));
        return Inner.WriteAsync(offset, data, fua, cancellationToken);
    }

    public override ValueTask WriteZeroesAsync(long offset, long length, bool mayPunchHole, bool fastOnly, bool fua, CancellationToken cancellationToken)
    {
        _calls.Enqueue(new BackendCall("zero", offset, length, fua, mayPunchHole, fastOnly));
        if (fastOnly && SlowZeroes)
        {
            throw new NbdBackendException(NbdError.ENOTSUP, "zeroing here means writing buffers");
        }

        return Inner.WriteZeroesAsync(offset, length, mayPunchHole, fastOnly, fua, cancellationToken);
    }

    public override ValueTask TrimAsync(long offset, long length, bool fua, CancellationToken cancellationToken)
    {
        _calls.Enqueue(new BackendCall("trim", offset, length, fua));
        return Inner.TrimAsync(offset, length, fua, cancellationToken);
    }

    public override ValueTask CacheAsync(long offset, long length, CancellationToken cancellationToken)
    {
        _calls.Enqueue(new BackendCall("cache", offset, length));
        return Inner.CacheAsync(offset, length, cancellationToken);
    }

    public override ValueTask FlushAsync(CancellationToken cancellationToken)
    {
        _calls.Enqueue(new BackendCall("flush", 0, 0));
        return Inner.FlushAsync(cancellationToken);
    }

    public override ValueTask<IReadOnlyList<NbdExtent>> GetAllocationAsync(long offset, long length, CancellationToken cancellationToken) =>
        Inner.GetAllocationAsync(offset, length, cancellationToken);
}
