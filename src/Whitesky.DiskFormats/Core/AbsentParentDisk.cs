using System.Runtime.CompilerServices;

namespace Whitesky.DiskFormats;

/// <summary>
/// Stands in for a parent that <see cref="DiskImageOptions.LayerOnly"/> left closed: it reads as zeroes and
/// reports everything unallocated, as large as any child asks (children clamp reads to their own size).
/// </summary>
internal sealed class AbsentParentDisk(string reference) : IVirtualDisk
{
    public long Capacity => 1L << 62;

    public int LogicalSectorSize => 512;

    public IVirtualDisk? Parent => null;

    public ValueTask ReadAsync(long offset, Memory<byte> buffer, CancellationToken cancellationToken = default)
    {
        buffer.Span.Clear();
        return ValueTask.CompletedTask;
    }

    public async IAsyncEnumerable<DiskExtent> GetExtentsAsync(long offset, long length, [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        await Task.CompletedTask.ConfigureAwait(false);
        if (length > 0)
        {
            yield return new DiskExtent(offset, length, DiskExtentKind.Unallocated);
        }
    }

    public DiskInfo Describe() => new() { Format = "absent", Name = reference, VirtualSize = 0, Features = ["not_opened"] };

    public ValueTask DisposeAsync() => ValueTask.CompletedTask;
}
