using System.Buffers.Binary;
using System.Globalization;
using Whitesky.DiskFormats.Tests.Core;
using Whitesky.Nbd.Tests.Peers;
using static Whitesky.DiskFormats.Tests.Core.HostileImages;

namespace Whitesky.DiskFormats.Tests.Vdi;

public class VdiDiskTests
{
    private static async Task<string> QemuImageAsync(TempDirectory dir, bool isStatic, long size = 64L << 20)
    {
        var path = dir.File(isStatic ? "static.vdi" : "dynamic.vdi");
        await ExternalTool.RunAsync("qemu-img", ["create", "-q", "-f", "vdi", "-o", isStatic ? "static=on" : "static=off", path, size.ToString(CultureInfo.InvariantCulture)]);
        await QemuPeers.QemuIoAsync("vdi", path,
            "write -P 0x11 0 1M",
            "write -P 0x22 5M 4k",
            "write -P 0x23 5184k 512",
            "write -P 0x33 9M 3M",
            "write -z 10M 512k",
            "write -P 0x66 63M 1M");
        return path;
    }

    /// <summary>The block map's offset, from the header.</summary>
    private static async Task<long> MapOffsetAsync(string path)
    {
        var head = new byte[0x200];
        await using var file = File.OpenRead(path);
        await file.ReadExactlyAsync(head);
        return BinaryPrimitives.ReadUInt32LittleEndian(head.AsSpan(0x154));
    }

    private static async Task PatchAsync(string path, long offset, uint value)
    {
        var bytes = new byte[4];
        BinaryPrimitives.WriteUInt32LittleEndian(bytes, value);
        await using var file = new FileStream(path, FileMode.Open, FileAccess.Write);
        file.Position = offset;
        await file.WriteAsync(bytes);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task Images_from_qemu_read_and_map_like_qemu(bool isStatic)
    {
        using var dir = new TempDirectory();
        var path = await QemuImageAsync(dir, isStatic);
        await using (var source = FileSource.Open(path))
        {
            Assert.Equal("vdi", await DiskImage.ProbeAsync(source));
        }

        await using var disk = await DiskImage.OpenAsync(path);
        var info = disk.Describe();
        Assert.Equal("vdi", info.Format);
        Assert.Equal(isStatic ? "static" : "dynamic", info.Subformat);
        Assert.Equal(1 << 20, info.ClusterSize);
        Assert.Equal(64L << 20, disk.Capacity);

        // qemu calls unallocated blocks "present, zero"; the data/not-data map and the content must agree.
        await QemuPeers.AssertReadsLikeQemuAsync(dir, path, "vdi", disk, kindsToo: false);
        var kinds = await QemuPeers.OurKindsAsync(disk);
        if (isStatic)
        {
            Assert.Equal([(0L, 64L << 20, DiskExtentKind.Data)], kinds);
        }
        else
        {
            Assert.Equal(
                [(0L, 1L << 20, DiskExtentKind.Data), (1L << 20, 4L << 20, DiskExtentKind.Unallocated), (5L << 20, 1L << 20, DiskExtentKind.Data),
                 (6L << 20, 3L << 20, DiskExtentKind.Unallocated), (9L << 20, 3L << 20, DiskExtentKind.Data), (12L << 20, 51L << 20, DiskExtentKind.Unallocated),
                 (63L << 20, 1L << 20, DiskExtentKind.Data)],
                kinds);
        }
    }

    [Fact]
    public async Task A_zero_block_reads_as_zeroes_and_maps_as_zero()
    {
        using var dir = new TempDirectory();
        var path = await QemuImageAsync(dir, isStatic: false);
        var map = await MapOffsetAsync(path);
        await PatchAsync(path, map + (4 * 9), 0xFFFF_FFFE); // block 9 (9 MiB) of the 3 MiB written there

        await using var disk = await DiskImage.OpenAsync(path);
        var (hash, expected) = await QemuPeers.QemuContentAsync(dir, path, "vdi"); // qemu reads a zero block as unallocated: zeroes
        Assert.All(expected.AsSpan(9 << 20, 1 << 20).ToArray(), b => Assert.Equal(0, b));
        var whole = new byte[disk.Capacity];
        await disk.ReadAsync(0, whole);
        Assert.Equal(hash, TestData.Sha256(whole));
        var kinds = await QemuPeers.OurKindsAsync(disk);
        Assert.Contains((9L << 20, 1L << 20, DiskExtentKind.Zero), kinds);
        Assert.Contains((10L << 20, 2L << 20, DiskExtentKind.Data), kinds);
    }

    [Theory]
    [InlineData(0x44, 0x0001_0000u, "header", "version")] // version 1.0
    [InlineData(0x4C, 4u, "header", "differencing")]
    [InlineData(0x168, 4096u, "header", "sector size")]
    [InlineData(0x178, 3u << 20, "header", "block size")]
    [InlineData(0x17C, 512u, "header", "block_extra")]
    [InlineData(0x180, 0xFFFF_FFFFu, "block map", "does not fit")] // blocks in image: a 16 GiB map
    [InlineData(0x180, 3u, "header", "cannot hold")]
    [InlineData(0x154, 0x100u, "block map", "after the header")]
    [InlineData(0x158, 0x10u, "header", "data offset")]
    public async Task Hostile_headers_are_refused(int offset, uint value, string structure, string problem)
    {
        using var dir = new TempDirectory();
        var path = await QemuImageAsync(dir, isStatic: false, size: 64L << 20);
        await PatchAsync(path, offset, value);

        var refusal = await RefusalAsync(path);
        Assert.Equal(structure, refusal.Structure);
        Assert.Contains(problem, refusal.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_block_past_the_end_of_the_file_is_refused_naming_the_block()
    {
        using var dir = new TempDirectory();
        var path = await QemuImageAsync(dir, isStatic: false);
        var map = await MapOffsetAsync(path);
        await PatchAsync(path, map + (4 * 5), 1000);

        var refusal = await RefusalAsync(path);
        Assert.Equal("block map", refusal.Structure);
        Assert.Equal(map + (4 * 5), refusal.Offset);
        Assert.Contains("block 5 ", refusal.Message, StringComparison.Ordinal);
    }
}
