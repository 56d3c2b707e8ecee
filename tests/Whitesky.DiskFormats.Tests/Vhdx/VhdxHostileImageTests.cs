using System.Buffers.Binary;
using Whitesky.Nbd.Tests.Peers;
using static Whitesky.DiskFormats.Tests.Vhdx.VhdxTestImages;
using static Whitesky.DiskFormats.Tests.Core.HostileImages;

namespace Whitesky.DiskFormats.Tests.Vhdx;

/// <summary>Valid images from qemu-img (or the test writer), patched into hostile ones: each is refused with the structure and offset named, quickly.</summary>
public class VhdxHostileImageTests
{
    private static async Task<(string Path, byte[] Bytes, Layout Layout)> ValidImageAsync(TempDirectory dir)
    {
        var path = dir.File("disk.vhdx");
        await CreateAsync(path, "subformat=dynamic,block_size=1048576,block_state_zero=off,log_size=1M", 16L << 20);
        await QemuIoAsync(path, "write -P 0x42 0 4M", "write -P 0x43 10M 1M");
        var bytes = await File.ReadAllBytesAsync(path);
        return (path, bytes, ReadLayout(bytes));
    }

    private static async Task<string> HashOfQemuReadingAsync(TempDirectory dir, string path)
    {
        var raw = dir.File("qemu.raw");
        await ExternalTool.RunAsync("qemu-img", ["convert", "-f", "vhdx", "-O", "raw", path, raw]);
        return await TestData.Sha256FileAsync(raw);
    }

    private static async Task<string> HashOfOurReadingAsync(string path)
    {
        await using var disk = await DiskImage.OpenAsync(path);
        var buffer = new byte[disk.Capacity];
        await disk.ReadAsync(0, buffer);
        return TestData.Sha256(buffer);
    }

    [Fact]
    public async Task Two_headers_with_bad_checksums_are_refused_and_one_good_header_is_enough()
    {
        using var dir = new TempDirectory();
        var (path, bytes, layout) = await ValidImageAsync(dir);
        var expected = await HashOfQemuReadingAsync(dir, path);

        bytes[layout.CurrentHeader + 100] ^= 0x01; // the newer header is damaged: the older one is used
        await File.WriteAllBytesAsync(path, bytes);
        Assert.Equal(expected, await HashOfOurReadingAsync(path));

        var other = layout.CurrentHeader == 64 << 10 ? 128 << 10 : 64 << 10;
        bytes[other + 200] ^= 0x01;
        await File.WriteAllBytesAsync(path, bytes);
        var refusal = await RefusalAsync(path);
        Assert.Equal("headers", refusal.Structure);
        Assert.Contains("checksum mismatch", refusal.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_damaged_first_region_table_falls_back_to_the_second_and_two_damaged_ones_are_refused()
    {
        using var dir = new TempDirectory();
        var (path, bytes, _) = await ValidImageAsync(dir);
        var expected = await HashOfQemuReadingAsync(dir, path);

        bytes[(192 << 10) + 20] ^= 0x40;
        await File.WriteAllBytesAsync(path, bytes);
        Assert.Equal(expected, await HashOfOurReadingAsync(path));

        bytes[(256 << 10) + 20] ^= 0x40;
        await File.WriteAllBytesAsync(path, bytes);
        var refusal = await RefusalAsync(path);
        Assert.Equal("region tables", refusal.Structure);
        Assert.Contains("checksum mismatch", refusal.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task An_unknown_required_region_is_refused()
    {
        using var dir = new TempDirectory();
        var (path, bytes, _) = await ValidImageAsync(dir);
        foreach (var table in new[] { 192 << 10, 256 << 10 })
        {
            var count = BinaryPrimitives.ReadInt32LittleEndian(bytes.AsSpan(table + 8));
            var entry = bytes.AsSpan(table + 16 + (32 * count), 32);
            Guid.NewGuid().TryWriteBytes(entry);
            BinaryPrimitives.WriteUInt64LittleEndian(entry[16..], (ulong)bytes.Length - MiB);
            BinaryPrimitives.WriteUInt32LittleEndian(entry[24..], MiB);
            BinaryPrimitives.WriteUInt32LittleEndian(entry[28..], 1);
            BinaryPrimitives.WriteInt32LittleEndian(bytes.AsSpan(table + 8), count + 1);
            Seal(bytes, table, 64 << 10);
        }

        await File.WriteAllBytesAsync(path, bytes);
        var refusal = await RefusalAsync(path);
        Assert.Equal("region table entry", refusal.Structure);
        Assert.Contains("required", refusal.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_bat_entry_past_the_end_of_the_file_is_refused_naming_the_block()
    {
        using var dir = new TempDirectory();
        var (path, bytes, layout) = await ValidImageAsync(dir);
        var at = (int)layout.BatOffset + (8 * (int)layout.BatIndex(10));
        BinaryPrimitives.WriteUInt64LittleEndian(bytes.AsSpan(at), ((ulong)(bytes.Length / MiB) << 20) | 6);
        await File.WriteAllBytesAsync(path, bytes);

        var refusal = await RefusalAsync(path);
        Assert.Equal("BAT entry", refusal.Structure);
        Assert.Equal(at, refusal.Offset);
        Assert.Contains("payload block 10 ", refusal.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_partially_present_block_outside_a_differencing_disk_is_refused()
    {
        using var dir = new TempDirectory();
        var (path, bytes, layout) = await ValidImageAsync(dir);
        var at = (int)layout.BatOffset + 8;
        bytes[at] = (byte)((bytes[at] & ~7) | 7);
        await File.WriteAllBytesAsync(path, bytes);

        var refusal = await RefusalAsync(path);
        Assert.Equal("BAT entry", refusal.Structure);
        Assert.Contains("state 7", refusal.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_truncated_image_is_refused_where_its_blocks_are_missing()
    {
        using var dir = new TempDirectory();
        var (path, bytes, _) = await ValidImageAsync(dir);
        await File.WriteAllBytesAsync(path, bytes.AsSpan(0, bytes.Length - MiB).ToArray());
        var refusal = await RefusalAsync(path);
        Assert.Equal("BAT entry", refusal.Structure);
        Assert.Contains("payload block", refusal.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(1L << 62, "virtual disk size")]
    [InlineData(0L, "virtual disk size")]
    [InlineData(1000L, "virtual disk size")]
    public async Task Absurd_virtual_sizes_are_refused_before_allocating(long size, string structure)
    {
        using var dir = new TempDirectory();
        var (path, bytes, layout) = await ValidImageAsync(dir);
        BinaryPrimitives.WriteInt64LittleEndian(bytes.AsSpan(MetadataItemOffset(bytes, layout, VirtualDiskSize)), size);
        await File.WriteAllBytesAsync(path, bytes);
        var refusal = await RefusalAsync(path);
        Assert.Equal(structure, refusal.Structure);
    }

    [Theory]
    [InlineData(3 << 20)]
    [InlineData(512 << 20)]
    [InlineData(4096)]
    public async Task Block_sizes_outside_the_spec_are_refused(int blockSize)
    {
        using var dir = new TempDirectory();
        var (path, bytes, layout) = await ValidImageAsync(dir);
        BinaryPrimitives.WriteInt32LittleEndian(bytes.AsSpan(MetadataItemOffset(bytes, layout, FileParameters)), blockSize);
        await File.WriteAllBytesAsync(path, bytes);
        var refusal = await RefusalAsync(path);
        Assert.Equal("file parameters", refusal.Structure);
    }

    [Fact]
    public async Task A_bat_region_too_small_for_the_virtual_size_is_refused()
    {
        using var dir = new TempDirectory();
        var (path, bytes, layout) = await ValidImageAsync(dir);
        BinaryPrimitives.WriteInt64LittleEndian(bytes.AsSpan(MetadataItemOffset(bytes, layout, VirtualDiskSize)), 1L << 40);
        await File.WriteAllBytesAsync(path, bytes);
        var refusal = await RefusalAsync(path);
        Assert.Equal("BAT", refusal.Structure);
    }

    [Fact]
    public async Task Unknown_metadata_is_ignored_unless_it_is_required()
    {
        using var dir = new TempDirectory();
        var optional = new Writer();
        optional.ExtraMetadata.Add((Guid.NewGuid(), new byte[16], 2));
        optional.Blocks[1] = new Block(6, TestData.Random(MiB, 1));
        await File.WriteAllBytesAsync(dir.File("optional.vhdx"), optional.Build());
        await using (var disk = await DiskImage.OpenAsync(dir.File("optional.vhdx")))
        {
            var block = new byte[MiB];
            await disk.ReadAsync(MiB, block);
            Assert.Equal(TestData.Sha256(TestData.Random(MiB, 1)), TestData.Sha256(block));
        }

        var required = new Writer();
        var id = Guid.NewGuid();
        required.ExtraMetadata.Add((id, new byte[16], 4));
        await File.WriteAllBytesAsync(dir.File("required.vhdx"), required.Build());
        var refusal = await RefusalAsync(dir.File("required.vhdx"));
        Assert.Equal("metadata table entry", refusal.Structure);
        Assert.Contains(id.ToString(), refusal.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_partially_present_block_without_its_sector_bitmap_is_refused()
    {
        using var dir = new TempDirectory();
        await CreateAsync(dir.File("base.vhdx"), "subformat=dynamic", 64L << 20);
        var linkage = ReadLayout(await File.ReadAllBytesAsync(dir.File("base.vhdx"))).DataWriteGuid;
        var child = new Writer { Parent = [("parent_linkage", linkage.ToString("B")), ("relative_path", "base.vhdx")] };
        child.Blocks[3] = new Block(7, new byte[MiB], new bool[MiB / 512]);
        var bytes = child.Build();
        var layout = ReadLayout(bytes);
        var sectorBitmapEntry = (int)layout.BatOffset + (8 * (int)layout.ChunkRatio);
        BinaryPrimitives.WriteUInt64LittleEndian(bytes.AsSpan(sectorBitmapEntry), 0);
        await File.WriteAllBytesAsync(dir.File("child.vhdx"), bytes);

        var refusal = await RefusalAsync(dir.File("child.vhdx"));
        Assert.Equal("BAT entry", refusal.Structure);
        Assert.Contains("sector bitmap", refusal.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_disk_that_is_its_own_parent_is_refused_as_a_loop()
    {
        using var dir = new TempDirectory();
        var guid = Guid.NewGuid();
        var child = new Writer { DataWriteGuid = guid, Parent = [("parent_linkage", guid.ToString("B")), ("relative_path", "self.vhdx")] };
        await File.WriteAllBytesAsync(dir.File("self.vhdx"), child.Build());
        var refusal = await RefusalAsync(dir.File("self.vhdx"));
        Assert.Equal("parent locator", refusal.Structure);
        Assert.Contains("loop", refusal.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_log_entry_with_a_bad_checksum_is_refused_and_not_skipped()
    {
        using var dir = new TempDirectory();
        var (path, bytes, layout) = await ValidImageAsync(dir);
        var page = bytes.AsSpan((int)layout.BatOffset, 4096).ToArray();
        BinaryPrimitives.WriteUInt64LittleEndian(page.AsSpan(0), 2);
        var logGuid = Guid.NewGuid();
        var entry = VhdxDiskTests.LogEntry(logGuid, 9, 0, bytes.Length, [(layout.BatOffset, page)]);
        entry[4096 + 100] ^= 0x01;
        entry.CopyTo(bytes, (int)layout.LogOffset);
        VhdxDiskTests.ActivateLog(bytes, layout, logGuid);
        await File.WriteAllBytesAsync(path, bytes);

        var refusal = await RefusalAsync(path);
        Assert.Equal("log", refusal.Structure);
        Assert.Contains("checksum mismatch", refusal.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_log_that_writes_over_the_headers_or_claims_a_huge_length_is_refused()
    {
        using var dir = new TempDirectory();
        var (path, bytes, layout) = await ValidImageAsync(dir);
        var logGuid = Guid.NewGuid();
        var entry = VhdxDiskTests.LogEntry(logGuid, 9, 0, bytes.Length, [(64 << 10, new byte[4096])]);
        entry.CopyTo(bytes, (int)layout.LogOffset);
        VhdxDiskTests.ActivateLog(bytes, layout, logGuid);
        await File.WriteAllBytesAsync(path, bytes);
        var refusal = await RefusalAsync(path);
        Assert.Equal("log descriptor", refusal.Structure);

        BinaryPrimitives.WriteUInt32LittleEndian(bytes.AsSpan(layout.CurrentHeader + 68), 1u << 31);
        Seal(bytes, layout.CurrentHeader, 4096);
        await File.WriteAllBytesAsync(path, bytes);
        refusal = await RefusalAsync(path);
        Assert.Equal("log", refusal.Structure);
    }

    [Fact]
    public async Task A_log_full_of_forged_entry_headers_is_searched_in_bounded_time()
    {
        using var dir = new TempDirectory();
        var (path, bytes, layout) = await ValidImageAsync(dir);
        var logGuid = Guid.NewGuid();
        for (var slot = 0; slot < MiB; slot += 4096)
        {
            var h = bytes.AsSpan((int)layout.LogOffset + slot, 64);
            "loge"u8.CopyTo(h);
            BinaryPrimitives.WriteUInt32LittleEndian(h[8..], MiB);
            BinaryPrimitives.WriteUInt64LittleEndian(h[16..], 5);
            logGuid.TryWriteBytes(h[32..]);
        }

        VhdxDiskTests.ActivateLog(bytes, layout, logGuid);
        await File.WriteAllBytesAsync(path, bytes);
        var refusal = await RefusalAsync(path);
        Assert.Equal("log entry", refusal.Structure);
        Assert.Contains("damaged", refusal.Message, StringComparison.Ordinal);
    }
}
