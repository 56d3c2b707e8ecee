using System.IO.Hashing;

namespace Whitesky.Migration.Replication;

/// <summary>Per-block XxHash128 of content; all-zero blocks hash to <see cref="Zero"/> without hashing.</summary>
internal static class BlockHashes
{
    public static readonly UInt128 Zero = UInt128.Zero;

    public static UInt128 Of(ReadOnlySpan<byte> block) => block.IndexOfAnyExcept((byte)0) < 0 ? Zero : XxHash128.HashToUInt128(block);

    /// <summary>Merges sorted block indexes into ranges, clipped at <paramref name="capacity"/>.</summary>
    public static List<ChangedRange> ToRanges(IEnumerable<long> sortedBlocks, int blockSize, long capacity)
    {
        var ranges = new List<ChangedRange>();
        foreach (var block in sortedBlocks)
        {
            var start = block * blockSize;
            ChangedRanges.Append(ranges, start, Math.Min(start + blockSize, capacity));
        }

        return ranges;
    }
}
