namespace Whitesky.DiskFormats;

/// <summary>
/// A decoded virtual disk: what a guest would see, whatever the format. Reads are safe to run
/// concurrently. <see cref="GetExtentsAsync"/> describes allocation from metadata alone, without reading data.
/// </summary>
public interface IVirtualDisk : IAsyncDisposable
{
    /// <summary>Size of the virtual disk in bytes.</summary>
    long Capacity { get; }

    /// <summary>Logical sector size in bytes (512 or 4096).</summary>
    int LogicalSectorSize { get; }

    /// <summary>The parent disk, for differencing formats and backing chains.</summary>
    IVirtualDisk? Parent { get; }

    /// <summary>Fills <paramref name="buffer"/> from <paramref name="offset"/>; the range must lie inside the disk.</summary>
    /// <exception cref="DiskFormatException">The image is corrupt where the range is read.</exception>
    ValueTask ReadAsync(long offset, Memory<byte> buffer, CancellationToken cancellationToken = default);

    /// <summary>
    /// Consecutive extents covering [<paramref name="offset"/>, <paramref name="offset"/> + <paramref name="length"/>),
    /// from metadata alone. Adjacent extents of the same kind may or may not be merged.
    /// </summary>
    IAsyncEnumerable<DiskExtent> GetExtentsAsync(long offset, long length, CancellationToken cancellationToken = default);

    /// <summary>What this image is.</summary>
    DiskInfo Describe();
}
