namespace Whitesky.DiskFormats;

/// <summary>What a <see cref="DiskChunk"/> carries.</summary>
public enum DiskChunkKind
{
    /// <summary>Bytes of the disk, in <see cref="DiskChunk.Data"/> (which may still happen to be zeroes).</summary>
    Data,

    /// <summary>A run the format marks as reading zeroes; <see cref="DiskChunk.Data"/> is empty.</summary>
    Zero,
}

/// <summary>
/// A run of a disk read sequentially (see <see cref="ISequentialDisk"/>). The memory of <see cref="Data"/> belongs
/// to the reader and is valid only until the enumeration advances: copy it to keep it.
/// </summary>
/// <param name="Offset">Start in bytes of the virtual disk.</param>
/// <param name="Length">Length in bytes (for <see cref="DiskChunkKind.Data"/>, <see cref="Data"/>'s length).</param>
/// <param name="Kind">What the run holds.</param>
/// <param name="Data">The bytes of a <see cref="DiskChunkKind.Data"/> chunk; empty otherwise.</param>
public readonly record struct DiskChunk(long Offset, long Length, DiskChunkKind Kind, ReadOnlyMemory<byte> Data)
{
    /// <summary>The end of the run (exclusive).</summary>
    public long End => Offset + Length;

    /// <summary>A data chunk at <paramref name="offset"/>.</summary>
    public static DiskChunk FromData(long offset, ReadOnlyMemory<byte> data) => new(offset, data.Length, DiskChunkKind.Data, data);

    /// <summary>A run of <paramref name="length"/> zero bytes at <paramref name="offset"/>.</summary>
    public static DiskChunk FromZero(long offset, long length) => new(offset, length, DiskChunkKind.Zero, ReadOnlyMemory<byte>.Empty);
}
