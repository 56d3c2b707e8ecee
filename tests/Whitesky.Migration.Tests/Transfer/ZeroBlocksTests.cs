using Whitesky.Migration.Transfer;

namespace Whitesky.Migration.Tests.Transfer;

public sealed class ZeroBlocksTests
{
    [Fact]
    public void Splits_a_buffer_into_data_blocks_and_whole_zero_blocks()
    {
        const int block = 4096;
        var buffer = new byte[(4 * block) + 100];
        buffer[10] = 1;                 // block 0: data
        buffer[(3 * block) + 4095] = 7; // block 3: data in its last byte; blocks 1-2 and the partial tail: zero

        Assert.Equal(0, ZeroBlocks.ZeroPrefixLength(buffer, block));
        Assert.Equal(block, ZeroBlocks.DataPrefixLength(buffer, block));
        Assert.Equal(2 * block, ZeroBlocks.ZeroPrefixLength(buffer.AsSpan(block), block));
        Assert.Equal(block, ZeroBlocks.DataPrefixLength(buffer.AsSpan(3 * block), block));
        Assert.Equal(100, ZeroBlocks.ZeroPrefixLength(buffer.AsSpan(4 * block), block));
    }

    [Fact]
    public void A_block_with_a_single_non_zero_byte_is_data()
    {
        var buffer = new byte[8192];
        buffer[8191] = 1;

        Assert.Equal(4096, ZeroBlocks.ZeroPrefixLength(buffer, 4096));
        Assert.Equal(4096, ZeroBlocks.DataPrefixLength(buffer.AsSpan(4096), 4096));
    }
}
