using Whitesky.Nbd.Tests.Peers;
using static Whitesky.DiskFormats.Tests.Vmdk.VmdkTestImages;

namespace Whitesky.DiskFormats.Tests.Vmdk;

public class VmdkDiskTests
{
    private static readonly string[] Patterns =
    [
        "write -P 0xaa 1M 3M",
        "write -P 0x55 40M 64k",
        "write -P 0x31 10M 4k",
        "write -P 0x77 63M 1M",
        "write -z 2M 64k",
    ];

    [Fact]
    public async Task A_monolithic_sparse_image_reads_and_maps_like_qemu()
    {
        using var dir = new TempDirectory();
        var path = await CreateAsync(dir, "sparse.vmdk", "64M", "subformat=monolithicSparse");
        await QemuIoAsync(path, Patterns);

        await using var disk = await OpenAndCompareAsync(path, dir);
        var info = disk.Describe();
        Assert.Equal("monolithicSparse", info.Subformat);
        Assert.Equal(64L << 20, info.VirtualSize);
        Assert.Equal(64 * 1024, info.ClusterSize);
        Assert.Null(info.Compression);

        var sample = new byte[4096];
        await disk.ReadAsync((10L << 20) - 100, sample);
        Assert.All(sample[..100], b => Assert.Equal(0, b));
        Assert.All(sample[100..], b => Assert.Equal(0x31, b));
    }

    [Fact]
    public async Task Zeroed_grains_read_as_zeroes_and_map_as_zero()
    {
        using var dir = new TempDirectory();
        var path = await CreateAsync(dir, "zeroed.vmdk", "64M", "subformat=monolithicSparse", "zeroed_grain=on");
        await QemuIoAsync(path, [.. Patterns, "write -z 1M 1M"]);

        await using var disk = await OpenAndCompareAsync(path, dir);
        Assert.Contains("zeroed_grain", disk.Describe().Features);
        var extents = new List<DiskExtent>();
        await foreach (var e in disk.GetExtentsAsync(0, disk.Capacity))
        {
            extents.Add(e);
        }

        Assert.Contains(extents, e => e.Kind == DiskExtentKind.Zero && e.Offset <= (1L << 20) && e.End >= 2L << 20);
    }

    [Fact]
    public async Task A_monolithic_flat_image_reads_and_maps_like_qemu()
    {
        using var dir = new TempDirectory();
        var path = await CreateAsync(dir, "flat.vmdk", "64M", "subformat=monolithicFlat");
        await QemuIoAsync(path, Patterns);

        await using var disk = await OpenAndCompareAsync(path, dir);
        Assert.Equal("monolithicFlat", disk.Describe().Subformat);
    }

    [Fact]
    public async Task A_two_gb_split_sparse_image_reads_across_its_extents()
    {
        using var dir = new TempDirectory();
        var path = await CreateAsync(dir, "split.vmdk", "4400M", "subformat=twoGbMaxExtentSparse");
        await QemuIoAsync(path, "write -P 0xaa 1M 1M", "write -P 0x42 2047M 2M", "write -P 0x43 4095M 3M", "write -P 0x44 4399M 1M");

        await using var disk = await OpenAndCompareAsync(path, dir);
        var info = disk.Describe();
        Assert.Equal("twoGbMaxExtentSparse", info.Subformat);
        Assert.Equal(4400L << 20, info.VirtualSize);
        Assert.Contains("extents=3", info.Features);
    }

    [Fact]
    public async Task A_two_gb_split_flat_image_reads_across_its_extents()
    {
        using var dir = new TempDirectory();
        var path = await CreateAsync(dir, "splitflat.vmdk", "4400M", "subformat=twoGbMaxExtentFlat");
        await QemuIoAsync(path, "write -P 0xaa 1M 1M", "write -P 0x42 2047M 2M", "write -P 0x43 4095M 3M", "write -P 0x44 4399M 1M");

        await using var disk = await OpenAndCompareAsync(path, dir);
        Assert.Equal("twoGbMaxExtentFlat", disk.Describe().Subformat);
        Assert.Contains("extents=3", disk.Describe().Features);
    }

    [Fact]
    public async Task A_stream_optimized_image_inflates_its_grains()
    {
        using var dir = new TempDirectory();
        var path = await ConvertFromPatternedRawAsync(dir, "stream.vmdk", "streamOptimized");

        await using var disk = await OpenAndCompareAsync(path, dir);
        var info = disk.Describe();
        Assert.Equal("streamOptimized", info.Subformat);
        Assert.Equal("deflate", info.Compression);
        Assert.Contains("markers", info.Features);

        // A read that starts and ends inside compressed grains.
        var expected = new byte[100_000];
        var actual = new byte[100_000];
        await using (var raw = File.OpenRead(dir.File("stream.vmdk.src.raw")))
        {
            raw.Position = (12L << 20) + 4000;
            raw.ReadExactly(expected);
        }

        await disk.ReadAsync((12L << 20) + 4000, actual);
        Assert.Equal(expected, actual);
    }

    [Fact]
    public async Task Concurrent_unaligned_reads_of_a_stream_match_the_source()
    {
        using var dir = new TempDirectory();
        var path = await ConvertFromPatternedRawAsync(dir, "stream.vmdk", "streamOptimized");
        var source = await File.ReadAllBytesAsync(dir.File("stream.vmdk.src.raw"));
        await using var disk = await DiskImage.OpenAsync(path);

        var random = new Random(5);
        var reads = Enumerable.Range(0, 64).Select(_ =>
        {
            var length = random.Next(1, 3 << 20);
            return (Offset: random.NextInt64(0, disk.Capacity - length), Length: length);
        }).ToArray();
        await Parallel.ForEachAsync(reads, new ParallelOptions { MaxDegreeOfParallelism = 8 }, async (read, ct) =>
        {
            var buffer = new byte[read.Length];
            await disk.ReadAsync(read.Offset, buffer, ct);
            Assert.True(source.AsSpan((int)read.Offset, read.Length).SequenceEqual(buffer), $"read at {read.Offset} of {read.Length}");
        });
    }

    [Fact]
    public async Task Extents_of_a_sub_range_are_the_full_map_clipped_to_it()
    {
        using var dir = new TempDirectory();
        var basePath = await CreateAsync(dir, "base.vmdk", "64M", "subformat=monolithicSparse");
        await QemuIoAsync(basePath, Patterns);
        var child = dir.File("child.vmdk");
        await ExternalTool.RunAsync("qemu-img", ["create", "-q", "-f", "vmdk", "-b", "base.vmdk", "-F", "vmdk", child]);
        await QemuIoAsync(child, "write -P 0xcc 2M 1M");
        await using var disk = await DiskImage.OpenAsync(child);

        var full = new List<DiskExtent>();
        await foreach (var e in disk.GetExtentsAsync(0, disk.Capacity))
        {
            full.Add(e);
        }

        Assert.Equal(disk.Capacity, full.Sum(e => e.Length));
        foreach (var (offset, length) in new[] { (1000L, 5L << 20), ((2L << 20) + 1, 1L), ((40L << 20) - 3, (24L << 20) + 3) })
        {
            var expected = full.Where(e => e.End > offset && e.Offset < offset + length)
                .Select(e => (Start: Math.Max(e.Offset, offset), End: Math.Min(e.End, offset + length), e.Kind)).ToList();
            var actual = new List<(long Start, long End, DiskExtentKind Kind)>();
            await foreach (var e in disk.GetExtentsAsync(offset, length))
            {
                actual.Add((e.Offset, e.End, e.Kind));
            }

            Assert.Equal(Merge(expected), Merge(actual));
        }
    }

    private static List<(long Start, long End, DiskExtentKind Kind)> Merge(List<(long Start, long End, DiskExtentKind Kind)> runs)
    {
        var merged = new List<(long Start, long End, DiskExtentKind Kind)>();
        foreach (var run in runs)
        {
            if (merged.Count > 0 && merged[^1].Kind == run.Kind && merged[^1].End == run.Start)
            {
                merged[^1] = (merged[^1].Start, run.End, run.Kind);
            }
            else
            {
                merged.Add(run);
            }
        }

        return merged;
    }

    [Fact]
    public async Task A_vmware_layout_stream_with_its_header_in_the_footer_reads_like_qemu()
    {
        using var dir = new TempDirectory();
        var qemuMade = await ConvertFromPatternedRawAsync(dir, "qemu-stream.vmdk", "streamOptimized");
        var path = dir.File("vmware-stream.vmdk");
        await File.WriteAllBytesAsync(path, ToVmwareStreamLayout(await File.ReadAllBytesAsync(qemuMade)));

        // qemu reads the rewritten file as it read the original; so must we.
        var expected = await QemuSha256Async(qemuMade, dir);
        Assert.Equal(expected, await QemuSha256Async(path, dir));
        await using var disk = await OpenAndCompareAsync(path, dir);
        Assert.Equal(expected, await OurSha256Async(disk));
        Assert.Contains("footer", disk.Describe().Features);
    }

    [Fact]
    public async Task A_child_reads_through_to_its_parent_and_maps_the_chain()
    {
        using var dir = new TempDirectory();
        var basePath = await CreateAsync(dir, "base.vmdk", "64M", "subformat=monolithicSparse");
        await QemuIoAsync(basePath, Patterns);
        var child = dir.File("child.vmdk");
        await ExternalTool.RunAsync("qemu-img", ["create", "-q", "-f", "vmdk", "-b", "base.vmdk", "-F", "vmdk", child]);
        await QemuIoAsync(child, "write -P 0xcc 2M 1M", "write -P 0xdd 41M 64k");

        await using var disk = await OpenAndCompareAsync(child, dir);
        var info = disk.Describe();
        Assert.NotNull(disk.Parent);
        Assert.NotNull(info.Parent);
        Assert.Equal(basePath, info.Parent!.Name);
        var sample = new byte[2];
        await disk.ReadAsync((2L << 20) - 1, sample);
        Assert.Equal(new byte[] { 0xaa, 0xcc }, sample);
    }

    [Fact]
    public async Task A_child_whose_parent_changed_since_is_refused()
    {
        using var dir = new TempDirectory();
        var basePath = await CreateAsync(dir, "base.vmdk", "16M", "subformat=monolithicSparse");
        var child = dir.File("child.vmdk");
        await ExternalTool.RunAsync("qemu-img", ["create", "-q", "-f", "vmdk", "-b", "base.vmdk", "-F", "vmdk", child]);
        await QemuIoAsync(basePath, "write -P 0x11 0 64k"); // qemu gives the base a new CID on its first write

        var e = await Assert.ThrowsAsync<DiskFormatException>(() => DiskImage.OpenAsync(child).WaitAsync(TimeSpan.FromSeconds(10)));
        Assert.Contains("parentCID", e.Message, StringComparison.Ordinal);
        Assert.Equal("descriptor", e.Structure);
    }

    [Fact]
    public async Task The_format_is_probed_from_a_sparse_header_and_from_a_descriptor()
    {
        using var dir = new TempDirectory();
        var sparse = await CreateAsync(dir, "a.vmdk", "1M", "subformat=monolithicSparse");
        var flat = await CreateAsync(dir, "b.vmdk", "1M", "subformat=monolithicFlat");
        await using var s = FileSource.Open(sparse);
        await using var f = FileSource.Open(flat);
        Assert.Equal("vmdk", await DiskImage.ProbeAsync(s));
        Assert.Equal("vmdk", await DiskImage.ProbeAsync(f));
    }
}
