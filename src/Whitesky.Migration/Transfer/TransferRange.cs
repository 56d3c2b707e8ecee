namespace Whitesky.Migration.Transfer;

/// <summary>A range of a disk in bytes.</summary>
/// <param name="Offset">Start in bytes.</param>
/// <param name="Length">Length in bytes.</param>
public readonly record struct TransferRange(long Offset, long Length)
{
    /// <summary>The end of the range (exclusive).</summary>
    public long End => Offset + Length;
}
