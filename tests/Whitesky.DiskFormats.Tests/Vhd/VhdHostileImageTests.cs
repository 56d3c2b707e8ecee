using System.Buffers.Binary;
using Whitesky.DiskFormats.Tests.Core;
using Whitesky.Nbd.Tests.Peers;
using static Whitesky.DiskFormats.Tests.Core.HostileImages;

namespace Whitesky.DiskFormats.Tests.Vhd;

/// <summary>Valid VHDs patched into hostile ones: each is refused with the structure and offset named, quickly.</summary>
public class VhdHostileImageTests
{
    private static async Task<string> QemuImageAsync(TempDirectory dir, string subformat)
    {
        var path = dir.File($"disk-{subformat}.vhd");
        await ExternalTool.RunAsync("qemu-img", ["create", "-q", "-f", "vpc", "-o", $"subformat={subformat},force_size=on", path, "16M"]);
        await QemuPeers.QemuIoAsync("vpc", path, "write -P 0x42 0 8M");
        return path;
    }

    private static byte[] U32(uint value)
    {
        var bytes = new byte[4];
        BinaryPrimitives.WriteUInt32BigEndian(bytes, value);
        return bytes;
    }

    /// <summary>The dynamic header's offset and the BAT's, from the footer copy at offset 0.</summary>
    private static async Task<(long Header, long Bat)> TablesAsync(string path)
    {
        var bytes = await File.ReadAllBytesAsync(path);
        var header = (long)BinaryPrimitives.ReadUInt64BigEndian(bytes.AsSpan(16));
        return (header, (long)BinaryPrimitives.ReadUInt64BigEndian(bytes.AsSpan((int)header + 16)));
    }

    /// <summary>Rewrites the dynamic header's checksum after a patch.</summary>
    private static async Task FixHeaderChecksumAsync(string path, long header)
    {
        var bytes = await File.ReadAllBytesAsync(path);
        var span = bytes.AsSpan((int)header, 1024);
        span.Slice(36, 4).Clear();
        await PatchAsync(path, header + 36, U32(TestVhdWriter.Checksum(span)));
    }

    [Theory]
    [InlineData("fixed")]
    [InlineData("dynamic")]
    public async Task A_footer_whose_checksum_does_not_match_is_refused(string subformat)
    {
        using var dir = new TempDirectory();
        var path = await QemuImageAsync(dir, subformat);
        var length = new FileInfo(path).Length;
        await PatchAsync(path, length - 512 + 48, [0x00, 0x00, 0x00, 0x01]); // current_size, 4 TiB more

        var refusal = await RefusalAsync(path);
        Assert.Equal("footer", refusal.Structure);
        Assert.Equal(length - 512 + 64, refusal.Offset);
        Assert.Contains("checksum", refusal.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_dynamic_header_whose_checksum_does_not_match_is_refused()
    {
        using var dir = new TempDirectory();
        var path = await QemuImageAsync(dir, "dynamic");
        var (header, _) = await TablesAsync(path);
        await PatchAsync(path, header + 32, U32(1 << 20));

        var refusal = await RefusalAsync(path);
        Assert.Equal("dynamic disk header", refusal.Structure);
        Assert.Contains("checksum", refusal.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_block_past_the_end_of_the_file_is_refused_naming_the_block()
    {
        using var dir = new TempDirectory();
        var path = await QemuImageAsync(dir, "dynamic");
        var (_, bat) = await TablesAsync(path);
        await PatchAsync(path, bat + 8, U32((uint)(new FileInfo(path).Length / 512) + 100));

        var refusal = await RefusalAsync(path);
        Assert.Equal("block allocation table", refusal.Structure);
        Assert.Equal(bat + 8, refusal.Offset);
        Assert.Contains("block 2 ", refusal.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(0xFFFF_FFFFu)]
    [InlineData(1u << 24)]
    public async Task A_table_larger_than_the_file_is_refused_before_it_is_read(uint entries)
    {
        using var dir = new TempDirectory();
        var path = await QemuImageAsync(dir, "dynamic");
        var (header, bat) = await TablesAsync(path);
        await PatchAsync(path, header + 28, U32(entries));
        await FixHeaderChecksumAsync(path, header);

        var refusal = await RefusalAsync(path);
        Assert.Equal("block allocation table", refusal.Structure);
        Assert.Equal(bat, refusal.Offset);
    }

    [Fact]
    public async Task A_fixed_disk_larger_than_its_file_is_refused()
    {
        using var dir = new TempDirectory();
        var path = dir.File("short.vhd");
        new TestVhdWriter(8L << 20).SaveFixed(path, new byte[4 << 20], (100, 16, 63));

        var refusal = await RefusalAsync(path);
        Assert.Equal("footer", refusal.Structure);
        Assert.Contains("truncated", refusal.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_missing_parent_is_refused()
    {
        using var dir = new TempDirectory();
        new TestVhdWriter(4L << 20) { ParentId = Guid.NewGuid() }.Locator("W2ku", @"D:\gone.vhd").Locator("W2ru", @".\gone.vhd").SaveDynamic(dir.File("child.vhd"));

        var refusal = await RefusalAsync(dir.File("child.vhd"));
        Assert.Equal("parent locator", refusal.Structure);
        Assert.Contains("does not exist", refusal.Message, StringComparison.Ordinal);

        // The relative locator is tried first, though the absolute one comes first in the header.
        var relative = refusal.Message.IndexOf("W2ru", StringComparison.Ordinal);
        Assert.InRange(relative, 0, refusal.Message.IndexOf("W2ku", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Parent_loops_are_refused()
    {
        using var dir = new TempDirectory();
        var self = new TestVhdWriter(4L << 20);
        new TestVhdWriter(4L << 20) { UniqueId = self.UniqueId, ParentId = self.UniqueId }.Locator("W2ru", "self.vhd").SaveDynamic(dir.File("self.vhd"));
        var refusal = await RefusalAsync(dir.File("self.vhd"));
        Assert.Contains("loop", refusal.Message, StringComparison.Ordinal);

        var a = Guid.NewGuid();
        var b = Guid.NewGuid();
        new TestVhdWriter(4L << 20) { UniqueId = a, ParentId = b }.Locator("W2ru", "b.vhd").SaveDynamic(dir.File("a.vhd"));
        new TestVhdWriter(4L << 20) { UniqueId = b, ParentId = a }.Locator("W2ru", "a.vhd").SaveDynamic(dir.File("b.vhd"));
        refusal = await RefusalAsync(dir.File("a.vhd"));
        Assert.Contains("loop", refusal.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_parent_with_another_unique_id_is_refused()
    {
        using var dir = new TempDirectory();
        new TestVhdWriter(4L << 20).SaveDynamic(dir.File("base.vhd"));
        new TestVhdWriter(4L << 20) { ParentId = Guid.NewGuid() }.Locator("W2ru", "base.vhd").SaveDynamic(dir.File("child.vhd"));

        var refusal = await RefusalAsync(dir.File("child.vhd"));
        Assert.Equal("parent locator", refusal.Structure);
        Assert.Contains("unique id", refusal.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_parent_locator_past_the_end_of_the_file_is_refused()
    {
        using var dir = new TempDirectory();
        var path = dir.File("child.vhd");
        new TestVhdWriter(4L << 20) { ParentId = Guid.NewGuid() }.Locator("W2ru", "base.vhd").SaveDynamic(path);
        var (header, _) = await TablesAsync(path);
        await PatchAsync(path, header + 576 + 8, U32(1 << 30));
        await FixHeaderChecksumAsync(path, header);

        var refusal = await RefusalAsync(path);
        Assert.Equal("parent locator", refusal.Structure);
        Assert.Equal(header + 576, refusal.Offset);
    }
}
