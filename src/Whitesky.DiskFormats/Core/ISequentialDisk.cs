namespace Whitesky.DiskFormats;

/// <summary>
/// A virtual disk decoded in one forward pass over a stream that cannot seek (a pipe, an HTTP or S3 GET, an
/// OVA being downloaded). <see cref="ReadChunksAsync"/> can be enumerated once. Chunks never overlap; a range
/// no chunk covers reads as zeroes (unallocated).
/// </summary>
public interface ISequentialDisk : IAsyncDisposable
{
    /// <summary>A name for messages (the entry or file name).</summary>
    string Name { get; }

    /// <summary>Size of the virtual disk in bytes.</summary>
    long Capacity { get; }

    /// <summary>Logical sector size in bytes (512 or 4096).</summary>
    int LogicalSectorSize { get; }

    /// <summary>
    /// Whether chunks arrive in increasing offset order (a streamOptimized VMDK, a tar entry). False when the
    /// format writes out of order (a Proxmox VMA archive): each chunk still carries its offset.
    /// </summary>
    bool ChunksInOffsetOrder { get; }

    /// <summary>What this image is, as far as its headers tell before the data is read.</summary>
    DiskInfo Describe();

    /// <summary>The disk's chunks; the enumeration reads the underlying stream, so it can run only once.</summary>
    /// <exception cref="DiskFormatException">The stream is malformed where it is read.</exception>
    /// <exception cref="InvalidOperationException">The chunks were already enumerated.</exception>
    IAsyncEnumerable<DiskChunk> ReadChunksAsync(CancellationToken cancellationToken = default);
}
