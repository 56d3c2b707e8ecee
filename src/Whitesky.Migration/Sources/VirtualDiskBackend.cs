using Whitesky.DiskFormats;
using Whitesky.Nbd;
using Whitesky.Nbd.Server;

namespace Whitesky.Migration.Sources;

/// <summary>
/// Serves any decoded disk image (qcow2, VMDK, raw, ...) read-only over NBD, the way <c>qemu-nbd</c>
/// serves an image: reads decode the format, and block status reports its allocation from metadata
/// (data, zero clusters, unallocated runs) without reading data.
/// </summary>
public sealed class VirtualDiskBackend : NbdBackend
{
    private readonly IVirtualDisk _disk;
    private readonly bool _ownsDisk;

    /// <summary>Wraps <paramref name="disk"/>; with <paramref name="ownsDisk"/>, disposing the backend disposes the disk.</summary>
    public VirtualDiskBackend(IVirtualDisk disk, bool ownsDisk = false)
    {
        ArgumentNullException.ThrowIfNull(disk);
        _disk = disk;
        _ownsDisk = ownsDisk;
    }

    /// <inheritdoc />
    public override long Size => _disk.Capacity;

    /// <summary>Always true: images are served read-only.</summary>
    public override bool IsReadOnly => true;

    /// <inheritdoc />
    public override bool CanReportAllocation => true;

    /// <inheritdoc />
    public override int PreferredBlockSize => Math.Max(4096, _disk.LogicalSectorSize);

    /// <inheritdoc />
    public override ValueTask ReadAsync(long offset, Memory<byte> buffer, CancellationToken cancellationToken) =>
        _disk.ReadAsync(offset, buffer, cancellationToken);

    /// <inheritdoc />
    public override ValueTask WriteAsync(long offset, ReadOnlyMemory<byte> data, bool fua, CancellationToken cancellationToken) =>
        throw new NbdBackendException(NbdError.EPERM, "disk images are served read-only");

    /// <inheritdoc />
    public override async ValueTask<IReadOnlyList<NbdExtent>> GetAllocationAsync(long offset, long length, CancellationToken cancellationToken)
    {
        const int MaxExtents = 1024;
        var result = new List<NbdExtent>();
        await foreach (var extent in _disk.GetExtentsAsync(offset, length, cancellationToken).ConfigureAwait(false))
        {
            var flags = extent.Kind switch
            {
                DiskExtentKind.Data => 0u,
                DiskExtentKind.Zero => NbdExtent.ZeroFlag,
                _ => NbdExtent.HoleFlag | NbdExtent.ZeroFlag,
            };
            if (result.Count > 0 && result[^1].Flags == flags && result[^1].End == extent.Offset)
            {
                result[^1] = result[^1] with { Length = result[^1].Length + extent.Length };
            }
            else if (result.Count == MaxExtents)
            {
                break;
            }
            else
            {
                result.Add(new NbdExtent(extent.Offset, extent.Length, flags));
            }
        }

        return result;
    }

    /// <inheritdoc />
    public override async ValueTask DisposeAsync()
    {
        if (_ownsDisk)
        {
            await _disk.DisposeAsync().ConfigureAwait(false);
        }

        await base.DisposeAsync().ConfigureAwait(false);
    }
}
