namespace Whitesky.DiskFormats;

/// <summary>What a run of a virtual disk holds, as far as the format says without reading data.</summary>
public enum DiskExtentKind
{
    /// <summary>Allocated data (may still happen to be zeroes).</summary>
    Data,

    /// <summary>Allocated or marked by the format as reading zeroes (a zero cluster or grain).</summary>
    Zero,

    /// <summary>Not allocated in this image or any parent: reads as zeroes.</summary>
    Unallocated,
}

/// <summary>A run of a virtual disk.</summary>
/// <param name="Offset">Start in bytes of the virtual disk.</param>
/// <param name="Length">Length in bytes.</param>
/// <param name="Kind">What the run holds.</param>
public readonly record struct DiskExtent(long Offset, long Length, DiskExtentKind Kind)
{
    /// <summary>The end of the run (exclusive).</summary>
    public long End => Offset + Length;
}
