namespace Whitesky.Migrate.Copy;

/// <summary>A run of the source file that either holds data or is a hole (reads as zeroes without being stored).</summary>
/// <param name="Offset">Start of the run in bytes.</param>
/// <param name="Length">Length of the run in bytes.</param>
/// <param name="IsData">True for data, false for a hole.</param>
internal readonly record struct FileExtent(long Offset, long Length, bool IsData)
{
    public long End => Offset + Length;
}
