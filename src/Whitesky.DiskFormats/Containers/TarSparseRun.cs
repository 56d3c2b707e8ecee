namespace Whitesky.DiskFormats.Containers;

/// <summary>A run of a sparse tar entry that is stored in the archive; the file reads zeroes between runs.</summary>
/// <param name="Offset">Start of the run in the file.</param>
/// <param name="Length">Length of the run in bytes.</param>
public readonly record struct TarSparseRun(long Offset, long Length)
{
    /// <summary>The end of the run (exclusive).</summary>
    public long End => Offset + Length;
}
