using System.Globalization;
using Whitesky.DiskFormats.Tests.Core;
using Whitesky.Nbd.Tests.Peers;

namespace Whitesky.DiskFormats.Tests.Vhd;

public class VhdDiskTests
{
    private static readonly string[] Writes =
    [
        "write -P 0x11 0 1M",
        "write -P 0x22 5M 4k",
        "write -P 0x23 5184k 512",
        "write -P 0x33 9M 3M",
        "write -z 10M 512k",
        "write -P 0x66 63M 1M",
    ];

    private static async Task<string> QemuImageAsync(TempDirectory dir, string subformat, bool forceSize, long size = 64L << 20)
    {
        var path = dir.File($"disk-{subformat}.vhd");
        var options = $"subformat={subformat}" + (forceSize ? ",force_size=on" : "");
        await ExternalTool.RunAsync("qemu-img", ["create", "-q", "-f", "vpc", "-o", options, path, size.ToString(CultureInfo.InvariantCulture)]);
        await QemuPeers.QemuIoAsync("vpc", path, Writes);
        return path;
    }

    [Theory]
    [InlineData(false, 64L << 20)]
    [InlineData(true, 64L << 20)]
    [InlineData(true, (64L << 20) + 4096)]
    public async Task Dynamic_images_from_qemu_read_and_map_like_qemu(bool forceSize, long size)
    {
        using var dir = new TempDirectory();
        var path = await QemuImageAsync(dir, "dynamic", forceSize, size);

        await using var disk = await DiskImage.OpenAsync(path);
        var info = disk.Describe();
        Assert.Equal("vhd", info.Format);
        Assert.Equal("dynamic", info.Subformat);
        Assert.Equal(2 << 20, info.ClusterSize);
        if (forceSize)
        {
            Assert.Equal(size, disk.Capacity);
        }

        // qemu calls unallocated blocks "present, zero"; the data/not-data map and the content must agree.
        await QemuPeers.AssertReadsLikeQemuAsync(dir, path, "vpc", disk, kindsToo: false);
        var kinds = await QemuPeers.OurKindsAsync(disk);
        Assert.Equal(
            [(0L, 2L << 20, DiskExtentKind.Data), (2L << 20, 2L << 20, DiskExtentKind.Unallocated), (4L << 20, 2L << 20, DiskExtentKind.Data),
             (6L << 20, 2L << 20, DiskExtentKind.Unallocated), (8L << 20, 4L << 20, DiskExtentKind.Data)],
            kinds.Take(5));
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task Fixed_images_are_probed_from_the_footer_and_read_like_qemu(bool forceSize)
    {
        using var dir = new TempDirectory();
        var path = await QemuImageAsync(dir, "fixed", forceSize);
        await using (var source = FileSource.Open(path))
        {
            Assert.Equal("vhd", await DiskImage.ProbeAsync(source));
        }

        await using var disk = await DiskImage.OpenAsync(path);
        Assert.Equal("fixed", disk.Describe().Subformat);
        Assert.Null(disk.Describe().ClusterSize);
        Assert.Equal(new FileInfo(path).Length - 512, disk.Capacity);
        var (hash, _) = await QemuPeers.QemuContentAsync(dir, path, "vpc");
        var whole = new byte[disk.Capacity];
        await disk.ReadAsync(0, whole);
        Assert.Equal(hash, TestData.Sha256(whole));

        // The data is raw: its allocation is the file's, as qemu-img sees the file as raw (without the footer).
        var raw = (await Raw.RawDiskTests.QemuMapAsync(path, "raw")).Where(r => r.Start < disk.Capacity)
            .Select(r => (r.Start, Math.Min(r.Length, disk.Capacity - r.Start), r.Data)).ToList();
        Assert.Equal(raw, await Raw.RawDiskTests.OurMapAsync(disk));
        Assert.Contains(raw, r => !r.Data);
    }

    [Fact]
    public async Task An_old_511_byte_footer_is_read()
    {
        using var dir = new TempDirectory();
        var path = await QemuImageAsync(dir, "fixed", forceSize: true);
        var (hash, _) = await QemuPeers.QemuContentAsync(dir, path, "vpc");
        await using (var file = new FileStream(path, FileMode.Open))
        {
            file.SetLength(file.Length - 1);
        }

        await using var disk = await DiskImage.OpenAsync(path);
        Assert.Contains("footer_511", disk.Describe().Features);
        Assert.Equal(64L << 20, disk.Capacity);
        var whole = new byte[disk.Capacity];
        await disk.ReadAsync(0, whole);
        Assert.Equal(hash, TestData.Sha256(whole));
    }

    [Fact]
    public async Task A_dynamic_vhd_without_its_end_footer_is_read_through_the_copy_at_its_start()
    {
        using var dir = new TempDirectory();
        var path = await QemuImageAsync(dir, "dynamic", forceSize: true);
        var (hash, _) = await QemuPeers.QemuContentAsync(dir, path, "vpc");
        await using (var file = new FileStream(path, FileMode.Open))
        {
            file.SetLength(file.Length - 512);
        }

        await using var disk = await DiskImage.OpenAsync(path);
        Assert.Equal("dynamic", disk.Describe().Subformat);
        var whole = new byte[disk.Capacity];
        await disk.ReadAsync(0, whole);
        Assert.Equal(hash, TestData.Sha256(whole));
    }

    [Fact]
    public async Task In_a_dynamic_vhd_clear_bitmap_bits_read_as_zeroes_and_map_as_unallocated()
    {
        using var dir = new TempDirectory();
        var path = dir.File("partial.vhd");
        const long size = 8L << 20;
        var expected = new byte[size];
        var writer = new TestVhdWriter(size);
        foreach (var (at, length, seed) in new[] { (0L, 512, 1), (4096L, 8192, 2), ((2L << 20) - 512, 1024, 3), (5L << 20, 65536, 4) })
        {
            var data = TestData.Random(length, seed);
            writer.Write(at, data);
            data.CopyTo(expected, at);
        }

        writer.SaveDynamic(path);
        await using var disk = await DiskImage.OpenAsync(path);
        var whole = new byte[size];
        await disk.ReadAsync(0, whole);
        Assert.Equal(TestData.Sha256(expected), TestData.Sha256(whole));
        Assert.Equal(
            [(0L, 512L, DiskExtentKind.Data), (512L, 3584L, DiskExtentKind.Unallocated), (4096L, 8192L, DiskExtentKind.Data),
             (12288L, (2L << 20) - 512 - 12288, DiskExtentKind.Unallocated), ((2L << 20) - 512, 1024L, DiskExtentKind.Data),
             ((2L << 20) + 512, (3L << 20) - 512, DiskExtentKind.Unallocated), (5L << 20, 65536L, DiskExtentKind.Data),
             ((5L << 20) + 65536, (3L << 20) - 65536, DiskExtentKind.Unallocated)],
            await QemuPeers.OurKindsAsync(disk));

        // Extents of a range that starts and ends inside sectors.
        var clipped = new List<DiskExtent>();
        await foreach (var e in disk.GetExtentsAsync(100, 4100))
        {
            clipped.Add(e);
        }

        Assert.Equal([new DiskExtent(100, 412, DiskExtentKind.Data), new DiskExtent(512, 3584, DiskExtentKind.Unallocated), new DiskExtent(4096, 104, DiskExtentKind.Data)], clipped);
    }

    [Fact]
    public async Task An_azure_fixed_vhd_has_the_exact_size_of_its_footer_not_of_its_geometry()
    {
        using var dir = new TempDirectory();
        var path = dir.File("azure.vhd");
        const long size = 21L << 20; // an odd number of MiB
        var content = TestData.Random((int)size, 5);
        new TestVhdWriter(size) { CreatorApplication = "wa\0\0" }.SaveFixed(path, content, (Cylinders: 1000, Heads: 4, Sectors: 17)); // 34000 KiB by CHS

        await using var disk = await DiskImage.OpenAsync(path);
        Assert.Equal(size, disk.Capacity);
        Assert.Equal(size, disk.Describe().VirtualSize);
        Assert.Contains("creator=wa", disk.Describe().Features);
        var whole = new byte[size];
        await disk.ReadAsync(0, whole);
        Assert.Equal(TestData.Sha256(content), TestData.Sha256(whole));
    }

    [Fact]
    public async Task A_dynamic_vhd_larger_than_2040_GiB_reads_at_its_end()
    {
        using var dir = new TempDirectory();
        var path = dir.File("huge.vhd");
        const long size = 3L << 40;
        var tail = TestData.Random(1 << 20, 9);
        new TestVhdWriter(size).Write(size - tail.Length, tail).Write(2040L << 30, TestData.Random(4096, 10)).SaveDynamic(path);

        await using var disk = await DiskImage.OpenAsync(path);
        Assert.Equal(size, disk.Capacity);
        var read = new byte[tail.Length];
        await disk.ReadAsync(size - tail.Length, read);
        Assert.Equal(TestData.Sha256(tail), TestData.Sha256(read));
        var kinds = await QemuPeers.OurKindsAsync(disk);
        Assert.Equal(
            [(0L, 2040L << 30, DiskExtentKind.Unallocated), (2040L << 30, 4096L, DiskExtentKind.Data), ((2040L << 30) + 4096, size - (1 << 20) - (2040L << 30) - 4096, DiskExtentKind.Unallocated), (size - (1 << 20), 1L << 20, DiskExtentKind.Data)],
            kinds);
    }

    [Fact]
    public async Task A_differencing_chain_reads_set_sectors_from_the_child_and_clear_ones_from_the_parent()
    {
        using var dir = new TempDirectory();
        const long size = 16L << 20;
        var expected = new byte[size];

        void Put(TestVhdWriter writer, long at, int length, int seed)
        {
            var data = TestData.Random(length, seed);
            writer.Write(at, data);
            data.CopyTo(expected, at);
        }

        // Base: a dynamic disk with 512 KiB blocks.
        var baseWriter = new TestVhdWriter(size, 512 << 10);
        Put(baseWriter, 0, 3 << 20, 1);
        Put(baseWriter, 8L << 20, 1 << 20, 2);
        baseWriter.SaveDynamic(dir.File("base.vhd"));

        // Middle: sectors here and there inside the parent's data, a whole block, a block allocated with nothing set.
        var mid = new TestVhdWriter(size, 1 << 20) { ParentId = baseWriter.UniqueId }
            .Locator("W2ku", @"C:\Hyper-V\elsewhere\base.vhd")
            .Locator("W2ru", @".\base.vhd")
            .AllocateEmptyBlock(12);
        Put(mid, 512, 512, 3);
        Put(mid, 4096, 1536, 4);
        Put(mid, (1 << 20) - 512, 1024, 5);
        Put(mid, 5L << 20, 1 << 20, 6);
        Put(mid, (8L << 20) + 65536, 7 * 512, 7);
        mid.SaveDynamic(dir.File("mid.vhd"));

        // Top: only a deprecated single-byte relative locator.
        var top = new TestVhdWriter(size, 2 << 20) { ParentId = mid.UniqueId }.Locator("Wi2r", "mid.vhd");
        Put(top, 2048, 512, 8);
        Put(top, 15L << 20, 4096, 9);
        top.SaveDynamic(dir.File("top.vhd"));

        await using var disk = await DiskImage.OpenAsync(dir.File("top.vhd"));
        var info = disk.Describe();
        Assert.Equal("differencing", info.Subformat);
        Assert.Equal("differencing", info.Parent?.Subformat);
        Assert.Equal("dynamic", info.Parent?.Parent?.Subformat);
        Assert.Equal(512 << 10, info.Parent?.Parent?.ClusterSize);

        var whole = new byte[size];
        await disk.ReadAsync(0, whole);
        Assert.Equal(TestData.Sha256(expected), TestData.Sha256(whole));
        var random = new Random(4);
        for (var i = 0; i < 300; i++)
        {
            var at = random.NextInt64(0, size - 70000);
            var piece = new byte[random.Next(1, 70000)];
            await disk.ReadAsync(at, piece);
            Assert.True(piece.AsSpan().SequenceEqual(expected.AsSpan((int)at, piece.Length)), $"read at {at} of {piece.Length}");
        }

        var kinds = await QemuPeers.OurKindsAsync(disk);
        Assert.Equal(
            [(0L, 3L << 20, DiskExtentKind.Data), (3L << 20, 2L << 20, DiskExtentKind.Unallocated), (5L << 20, 1L << 20, DiskExtentKind.Data),
             (6L << 20, 2L << 20, DiskExtentKind.Unallocated), (8L << 20, 1L << 20, DiskExtentKind.Data), (9L << 20, (15L << 20) - (9L << 20), DiskExtentKind.Unallocated),
             (15L << 20, 4096L, DiskExtentKind.Data), ((15L << 20) + 4096, (1L << 20) - 4096, DiskExtentKind.Unallocated)],
            kinds);
    }

    [Fact]
    public async Task An_absolute_parent_locator_is_refused_by_the_default_resolver_and_followed_by_a_trusting_one()
    {
        using var dir = new TempDirectory();
        var parent = new TestVhdWriter(4L << 20).Write(0, TestData.Random(1 << 20, 1));
        parent.SaveDynamic(dir.File("base.vhd"));
        var absolute = dir.File("base.vhd");
        new TestVhdWriter(4L << 20) { ParentId = parent.UniqueId }.Locator("W2ku", absolute).SaveDynamic(dir.File("child.vhd"));

        var refused = await Assert.ThrowsAsync<DiskFormatException>(() => DiskImage.OpenAsync(dir.File("child.vhd")));
        Assert.Equal("parent locator", refused.Structure);
        Assert.Contains("absolute", refused.Message, StringComparison.Ordinal);

        await using var disk = await DiskImage.OpenAsync(dir.File("child.vhd"), new DiskImageOptions { Resolver = new TrustingResolver() });
        var first = new byte[1 << 20];
        await disk.ReadAsync(0, first);
        Assert.Equal(TestData.Sha256(TestData.Random(1 << 20, 1)), TestData.Sha256(first));
    }

    private sealed class TrustingResolver : IDiskImageResolver
    {
        public ValueTask<IRandomAccessSource> OpenAsync(string referrer, string reference, CancellationToken cancellationToken = default) =>
            ValueTask.FromResult<IRandomAccessSource>(FileSource.Open(reference));
    }
}
