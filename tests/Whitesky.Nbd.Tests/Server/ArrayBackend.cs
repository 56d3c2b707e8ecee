using Whitesky.Nbd.Server;

namespace Whitesky.Nbd.Tests.Server;

/// <summary>
/// A plain array behind the server, for tests of the server itself: what clients write lands in
/// <see cref="Bytes"/>, where the test can check it byte for byte. Zeroed 4 KiB blocks count as holes.
/// </summary>
public sealed class ArrayBackend : NbdBackend
{
    private const int Block = 4096;
    private readonly bool _readOnly;

    public ArrayBackend(int size, bool readOnly = false)
    {
        Bytes = new byte[size];
        _readOnly = readOnly;
    }

    public byte[] Bytes { get; }

    public int Flushes;

    public override long Size => Bytes.Length;

    public override bool IsReadOnly => _readOnly;

    public override bool CanTrim => true;

    public override bool CanFastZero => true;

    public override bool CanFlush => true;

    public override bool CanReportAllocation => true;

    public override ValueTask ReadAsync(long offset, Memory<byte> buffer, CancellationToken cancellationToken)
    {
        Bytes.AsSpan((int)offset, buffer.Length).CopyTo(buffer.Span);
        return ValueTask.CompletedTask;
    }

    public override ValueTask WriteAsync(long offset, ReadOnlyMemory<byte> data, bool fua, CancellationToken cancellationToken)
    {
        data.Span.CopyTo(Bytes.AsSpan((int)offset));
        return ValueTask.CompletedTask;
    }

    public override ValueTask WriteZeroesAsync(long offset, long length, bool mayPunchHole, bool fastOnly, bool fua, CancellationToken cancellationToken)
    {
        Bytes.AsSpan((int)offset, (int)length).Clear();
        return ValueTask.CompletedTask;
    }

    public override ValueTask TrimAsync(long offset, long length, bool fua, CancellationToken cancellationToken) =>
        WriteZeroesAsync(offset, length, true, false, fua, cancellationToken);

    public override ValueTask FlushAsync(CancellationToken cancellationToken)
    {
        Interlocked.Increment(ref Flushes);
        return ValueTask.CompletedTask;
    }

    public override ValueTask<IReadOnlyList<NbdExtent>> GetAllocationAsync(long offset, long length, CancellationToken cancellationToken)
    {
        var extents = new List<NbdExtent>();
        var end = offset + length;
        for (var position = offset; position < end;)
        {
            var blockEnd = Math.Min(end, (position / Block + 1) * Block);
            var zero = !Bytes.AsSpan((int)position, (int)(blockEnd - position)).ContainsAnyExcept((byte)0);
            var flags = zero ? NbdExtent.HoleFlag | NbdExtent.ZeroFlag : 0u;
            if (extents.Count > 0 && extents[^1].Flags == flags)
            {
                extents[^1] = extents[^1] with { Length = extents[^1].Length + (blockEnd - position) };
            }
            else
            {
                extents.Add(new NbdExtent(position, blockEnd - position, flags));
            }

            position = blockEnd;
        }

        return ValueTask.FromResult<IReadOnlyList<NbdExtent>>(extents);
    }
}
