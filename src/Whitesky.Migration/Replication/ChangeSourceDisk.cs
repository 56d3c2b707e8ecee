using System.Runtime.CompilerServices;
using Whitesky.DiskFormats;

namespace Whitesky.Migration.Replication;

/// <summary>A change source seen as a disk by the transfer engine: reads go to the source, the map is one data extent.</summary>
internal sealed class ChangeSourceDisk(IChangeSource source) : IVirtualDisk
{
    public long Capacity => source.Capacity;

    public int LogicalSectorSize => 512;

    public IVirtualDisk? Parent => null;

    public ValueTask ReadAsync(long offset, Memory<byte> buffer, CancellationToken cancellationToken = default) =>
        source.ReadAsync(offset, buffer, cancellationToken);

    public async IAsyncEnumerable<DiskExtent> GetExtentsAsync(long offset, long length, [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        await Task.CompletedTask.ConfigureAwait(false);
        yield return new DiskExtent(offset, length, DiskExtentKind.Data);
    }

    public DiskInfo Describe() => new() { Format = "replication", Name = source.Name, VirtualSize = source.Capacity };

    public ValueTask DisposeAsync() => ValueTask.CompletedTask;
}
