namespace Whitesky.Migration.Transfer;

/// <summary>
/// Splits a buffer into runs of whole all-zero blocks and runs of data, with vectorised scans. Random
/// data costs one comparison per block, since each block's first byte already differs from zero.
/// </summary>
internal static class ZeroBlocks
{
    /// <summary>The length of the leading run of all-zero blocks (a final partial block counts when it is all zero).</summary>
    public static int ZeroPrefixLength(ReadOnlySpan<byte> data, int blockSize)
    {
        var firstNonZero = data.IndexOfAnyExcept((byte)0);
        return firstNonZero < 0 ? data.Length : firstNonZero / blockSize * blockSize;
    }

    /// <summary>The length of the leading run of blocks that each hold at least one non-zero byte.</summary>
    public static int DataPrefixLength(ReadOnlySpan<byte> data, int blockSize)
    {
        var position = 0;
        while (position < data.Length)
        {
            var block = data.Slice(position, Math.Min(blockSize, data.Length - position));
            if (block.IndexOfAnyExcept((byte)0) < 0)
            {
                return position;
            }

            position += block.Length;
        }

        return data.Length;
    }
}
