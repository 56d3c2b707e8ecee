using Whitesky.Migration.Transfer;

namespace Whitesky.Migration.Tests.Transfer;

public sealed class ExtentAlignerTests
{
    [Fact]
    public void Blocks_holding_any_data_are_data_and_the_rest_zero_runs()
    {
        var aligner = new ExtentAligner(4096, 65536);
        var runs = new List<(long Offset, long Length, bool IsData)>();

        aligner.Add(0, 1000, false, runs);       // zero, ends inside block 0
        aligner.Add(1000, 5000, true, runs);     // data spans blocks 0-1
        aligner.Add(5000, 20480, false, runs);   // zero: blocks 2-4 whole
        aligner.Add(20480, 20992, true, runs);   // data in block 5
        aligner.Add(20992, 65000, false, runs);  // zero to the capacity (unaligned)
        aligner.Finish(65000, runs);

        Assert.Equal([(0, 8192, true), (8192, 12288, false), (20480, 4096, true), (24576, 40960, false)], runs);
    }

    [Fact]
    public void A_map_that_ends_early_copies_the_rest_as_data()
    {
        var aligner = new ExtentAligner(512, 8192);
        var runs = new List<(long Offset, long Length, bool IsData)>();

        aligner.Add(0, 4096, false, runs);
        aligner.Finish(8192, runs);

        Assert.Equal([(0, 4096, false), (4096, 4096, true)], runs);
    }

    [Fact]
    public void Range_set_merges_and_reports_what_is_missing()
    {
        var set = new RangeSet([new TransferRange(100, 50)]);
        set.Add(0, 10);
        set.Add(150, 50);
        set.Add(10, 5);

        Assert.Equal([new TransferRange(0, 15), new TransferRange(100, 100)], set.Snapshot());
        Assert.Equal([new TransferRange(15, 85), new TransferRange(200, 50)], set.Missing(5, 245));
        Assert.Equal(115, set.TotalBytes);
    }
}
