using Microsoft.Extensions.Logging.Abstractions;
using Whitesky.Migrate.Copy;
using Whitesky.Migrate.Tests.Support;
using Whitesky.Nbd.Tests.Peers;

namespace Whitesky.Migrate.Tests;

public sealed class SparseFileMapTests
{
    [Fact]
    public void Maps_the_data_and_holes_of_a_sparse_file()
    {
        using var dir = new TempDirectory();
        var path = dir.File("sparse.raw");
        SparseImage.Create(path, 1 << 20, [(8192, 4096), (512 << 10, 8192)], seed: 1);
        using var file = File.OpenHandle(path);

        var extents = SparseFileMap.Read(file, 1 << 20, 1 << 20, 1, NullLogger.Instance);

        Assert.Equal(
        [
            new FileExtent(0, 8192, false),
            new FileExtent(8192, 4096, true),
            new FileExtent(12288, (512 << 10) - 12288, false),
            new FileExtent(512 << 10, 8192, true),
            new FileExtent((512 << 10) + 8192, (1 << 20) - (512 << 10) - 8192, false),
        ], extents);
    }

    [Fact]
    public void Widens_data_to_the_alignment_and_merges_runs_that_then_touch()
    {
        using var dir = new TempDirectory();
        var path = dir.File("sparse.raw");
        SparseImage.Create(path, 1 << 20, [(8192, 4096), (40960, 4096), (512 << 10, 8192)], seed: 1);
        using var file = File.OpenHandle(path);

        var extents = SparseFileMap.Read(file, 1 << 20, 1 << 20, 65536, NullLogger.Instance);

        Assert.Equal(
        [
            new FileExtent(0, 65536, true),
            new FileExtent(65536, (512 << 10) - 65536, false),
            new FileExtent(512 << 10, 65536, true),
            new FileExtent((512 << 10) + 65536, (1 << 20) - (512 << 10) - 65536, false),
        ], extents);
    }

    [Fact]
    public void Maps_a_file_whose_size_is_not_a_block_multiple_up_to_the_rounded_length()
    {
        using var dir = new TempDirectory();
        var path = dir.File("odd.raw");
        SparseImage.Create(path, 5000, [(4096, 904)], seed: 1);
        using var file = File.OpenHandle(path);

        var extents = SparseFileMap.Read(file, 5000, 5120, 512, NullLogger.Instance);

        Assert.Equal([new FileExtent(0, 4096, false), new FileExtent(4096, 1024, true)], extents);
    }
}
