using System.Buffers.Binary;
using System.Text;
using Whitesky.Nbd.Tests.Peers;
using static Whitesky.DiskFormats.Tests.Vmdk.VmdkTestImages;

namespace Whitesky.DiskFormats.Tests.Vmdk;

public class VmdkHostileImageTests
{
    private static readonly TimeSpan Bound = TimeSpan.FromSeconds(10);

    private static async Task OpenAndReadAllAsync(string path)
    {
        await using var disk = await DiskImage.OpenAsync(path);
        await OurSha256Async(disk);
        await foreach (var _ in disk.GetExtentsAsync(0, disk.Capacity))
        {
        }
    }

    private static Task<DiskFormatException> RefusedAsync(string path) =>
        Assert.ThrowsAsync<DiskFormatException>(() => OpenAndReadAllAsync(path).WaitAsync(Bound));

    private static async Task<(string Path, byte[] Image)> SparseAsync(TempDirectory dir)
    {
        var path = await CreateAsync(dir, "sparse.vmdk", "64M", "subformat=monolithicSparse");
        await QemuIoAsync(path, "write -P 0xaa 1M 3M", "write -P 0x55 40M 64k", "write -P 0x77 63M 1M");
        return (path, await File.ReadAllBytesAsync(path));
    }

    [Fact]
    public async Task A_truncated_sparse_image_is_refused_where_its_grains_are_missing()
    {
        using var dir = new TempDirectory();
        var (path, image) = await SparseAsync(dir);
        await File.WriteAllBytesAsync(path, image[..(image.Length / 2)]);

        var e = await RefusedAsync(path);
        Assert.Equal(path, e.Image);
        Assert.StartsWith("grain", e.Structure, StringComparison.Ordinal);
        Assert.True(e.Offset > 0);
        Assert.Contains("end of the file", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_grain_directory_pointing_into_the_header_is_refused()
    {
        using var dir = new TempDirectory();
        var (path, image) = await SparseAsync(dir);
        BinaryPrimitives.WriteUInt64LittleEndian(image.AsSpan(56), 0);
        await File.WriteAllBytesAsync(path, image);

        var e = await RefusedAsync(path);
        Assert.Equal("grain directory", e.Structure);
        Assert.Equal(0, e.Offset);
        Assert.Contains("header", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_grain_directory_past_the_end_of_the_file_is_refused()
    {
        using var dir = new TempDirectory();
        var (path, image) = await SparseAsync(dir);
        BinaryPrimitives.WriteUInt64LittleEndian(image.AsSpan(56), (ulong)(image.Length / 512 + 100));
        await File.WriteAllBytesAsync(path, image);

        var e = await RefusedAsync(path);
        Assert.Equal("grain directory", e.Structure);
        Assert.Equal(image.Length + 100L * 512 - image.Length % 512, e.Offset);
    }

    [Fact]
    public async Task A_grain_table_past_the_end_of_the_file_is_refused()
    {
        using var dir = new TempDirectory();
        var (path, image) = await SparseAsync(dir);
        var gd = (int)ReadHeader(image).GdOffset * 512;
        BinaryPrimitives.WriteUInt32LittleEndian(image.AsSpan(gd), 0x7FFFFFF0);
        await File.WriteAllBytesAsync(path, image);

        var e = await RefusedAsync(path);
        Assert.Equal("grain table", e.Structure);
        Assert.Equal(0x7FFFFFF0L * 512, e.Offset);
    }

    [Fact]
    public async Task A_grain_inside_the_metadata_is_refused()
    {
        using var dir = new TempDirectory();
        var (path, image) = await SparseAsync(dir);
        var (_, _, gdOffset, _, _) = ReadHeader(image);
        var gt = BinaryPrimitives.ReadUInt32LittleEndian(image.AsSpan((int)gdOffset * 512));
        var entryOffset = gt * 512L + 16 * 4; // grain 16 = 1 MiB, written above
        BinaryPrimitives.WriteUInt32LittleEndian(image.AsSpan((int)entryOffset), 2);
        await File.WriteAllBytesAsync(path, image);

        var e = await RefusedAsync(path);
        Assert.Equal("grain table entry", e.Structure);
        Assert.Equal(entryOffset, e.Offset);
        Assert.Contains("metadata", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_petabyte_capacity_on_a_tiny_file_is_refused_without_allocating_its_directory()
    {
        using var dir = new TempDirectory();
        var (path, image) = await SparseAsync(dir);
        BinaryPrimitives.WriteUInt64LittleEndian(image.AsSpan(12), 1UL << 41); // 1 PiB in sectors: a 128 MiB grain directory
        await File.WriteAllBytesAsync(path, image);

        var e = await RefusedAsync(path);
        Assert.Equal("grain directory", e.Structure);
        Assert.Contains("do not fit", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task The_largest_capacity_a_header_can_claim_is_refused_without_overflow()
    {
        using var dir = new TempDirectory();
        var (path, image) = await SparseAsync(dir);
        BinaryPrimitives.WriteUInt64LittleEndian(image.AsSpan(12), (ulong)(long.MaxValue / 512));
        await File.WriteAllBytesAsync(path, image);
        var e = await RefusedAsync(path);
        Assert.Equal("sparse extent header", e.Structure);
        Assert.Equal(12, e.Offset);

        BinaryPrimitives.WriteUInt64LittleEndian(image.AsSpan(12), ulong.MaxValue);
        await File.WriteAllBytesAsync(path, image);
        Assert.Equal("sparse extent header", (await RefusedAsync(path)).Structure);
    }

    [Fact]
    public async Task Extents_that_add_up_past_the_largest_disk_are_refused()
    {
        using var dir = new TempDirectory();
        var path = dir.File("huge.vmdk");
        var half = long.MaxValue / 512 / 2 + 1;
        await File.WriteAllTextAsync(path, Descriptor("00000001", "ffffffff", null, $"RW {half} ZERO\nRW {half} ZERO"));
        Assert.Equal("descriptor", (await RefusedAsync(path)).Structure);
    }

    [Fact]
    public async Task A_compressed_grain_that_inflates_past_a_grain_is_refused()
    {
        using var dir = new TempDirectory();
        var path = await ConvertFromPatternedRawAsync(dir, "stream.vmdk", "streamOptimized");
        var image = await File.ReadAllBytesAsync(path);
        var entry = GrainEntry(image, 16); // 1 MiB: 64 KiB of 0xaa, compresses to a few hundred bytes
        Assert.NotEqual(0u, entry);
        var bomb = Deflate(new byte[256 * 1024]);
        Assert.True(bomb.Length < 500);
        var at = (int)(entry * 512L);
        BinaryPrimitives.WriteUInt32LittleEndian(image.AsSpan(at + 8), (uint)bomb.Length);
        bomb.CopyTo(image, at + 12);
        await File.WriteAllBytesAsync(path, image);

        var e = await RefusedAsync(path);
        Assert.Equal("compressed grain", e.Structure);
        Assert.Equal(at, e.Offset);
        Assert.Contains("more than a grain", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_compressed_grain_that_is_not_zlib_is_refused()
    {
        using var dir = new TempDirectory();
        var path = await ConvertFromPatternedRawAsync(dir, "stream.vmdk", "streamOptimized");
        var image = await File.ReadAllBytesAsync(path);
        var at = (int)(GrainEntry(image, 16) * 512L);
        image.AsSpan(at + 12, 64).Fill(0xEE);
        await File.WriteAllBytesAsync(path, image);

        var e = await RefusedAsync(path);
        Assert.Contains("compressed grain", e.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("/etc/passwd")]
    [InlineData("../x.vmdk")]
    [InlineData("https://example.com/x.vmdk")]
    public async Task Extent_files_outside_the_image_directory_are_refused_by_the_resolver(string extent)
    {
        using var dir = new TempDirectory();
        var path = dir.File("evil.vmdk");
        await File.WriteAllTextAsync(path, Descriptor("0000000a", "ffffffff", null, $"RW 2048 FLAT \"{extent}\" 0"));

        var e = await RefusedAsync(path);
        Assert.Contains("refusing to open", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_parent_loop_is_refused()
    {
        using var dir = new TempDirectory();
        var a = dir.File("a.vmdk");
        await File.WriteAllTextAsync(a, Descriptor("0000000a", "0000000b", "b.vmdk", "RW 2048 ZERO"));
        await File.WriteAllTextAsync(dir.File("b.vmdk"), Descriptor("0000000b", "0000000a", "a.vmdk", "RW 2048 ZERO"));
        var self = dir.File("self.vmdk");
        await File.WriteAllTextAsync(self, Descriptor("0000000c", "0000000c", "self.vmdk", "RW 2048 ZERO"));

        Assert.Contains("loop", (await RefusedAsync(a)).Message, StringComparison.Ordinal);
        Assert.Contains("loop", (await RefusedAsync(self)).Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Zero_and_read_only_extents_count_towards_the_size()
    {
        using var dir = new TempDirectory();
        var data = TestData.Random(1 << 20, 3);
        await File.WriteAllBytesAsync(dir.File("d-flat.vmdk"), data);
        var path = dir.File("d.vmdk");
        await File.WriteAllTextAsync(path, Descriptor("0000000d", "ffffffff", null, "RDONLY 2048 FLAT \"d-flat.vmdk\" 0\nRW 2048 ZERO\nNOACCESS 1024 FLAT \"d-flat.vmdk\" 1024"));

        await using var disk = await DiskImage.OpenAsync(path);
        Assert.Equal((2048 + 2048 + 1024) * 512L, disk.Capacity);
        var content = new byte[disk.Capacity];
        await disk.ReadAsync(0, content);
        Assert.Equal(data, content[..(1 << 20)]);
        Assert.All(content[(1 << 20)..(2 << 20)], b => Assert.Equal(0, b));
        Assert.Equal(data[(512 << 10)..], content[(2 << 20)..]);
        var extents = new List<DiskExtent>();
        await foreach (var e in disk.GetExtentsAsync(0, disk.Capacity))
        {
            extents.Add(e);
        }

        Assert.Contains(new DiskExtent(1 << 20, 1 << 20, DiskExtentKind.Zero), extents);
    }

    [Fact]
    public async Task Oversized_descriptors_are_refused_clearly()
    {
        using var dir = new TempDirectory();
        var big = dir.File("big.vmdk");
        await File.WriteAllTextAsync(big, Descriptor("0000000f", "ffffffff", null, "RW 2048 ZERO") + new string('#', 2 << 20));
        Assert.Equal("descriptor", (await RefusedAsync(big)).Structure);

        var many = dir.File("many.vmdk");
        await File.WriteAllTextAsync(many, Descriptor("00000010", "ffffffff", null, string.Join('\n', Enumerable.Repeat("RW 1 ZERO", 4097))));
        var e = await RefusedAsync(many);
        Assert.Equal("descriptor", e.Structure);
        Assert.Contains("4096 extents", e.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("/etc/passwd")]
    [InlineData("../base.vmdk")]
    public async Task A_parent_outside_the_image_directory_is_refused_by_the_resolver(string hint)
    {
        using var dir = new TempDirectory();
        var path = dir.File("child.vmdk");
        await File.WriteAllTextAsync(path, Descriptor("00000011", "00000012", hint, "RW 2048 ZERO"));

        var e = await RefusedAsync(path);
        Assert.Contains("refusing to open", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_vmware_stream_without_its_footer_is_refused()
    {
        using var dir = new TempDirectory();
        var qemuMade = await ConvertFromPatternedRawAsync(dir, "qemu-stream.vmdk", "streamOptimized");
        var image = ToVmwareStreamLayout(await File.ReadAllBytesAsync(qemuMade));
        var path = dir.File("cut.vmdk");
        await File.WriteAllBytesAsync(path, image[..^1536]);

        var e = await RefusedAsync(path);
        Assert.Equal("footer marker", e.Structure);
        Assert.Equal(image.Length - 1536 - 1536, e.Offset);
    }

    [Fact]
    public async Task A_cowd_vmfs_sparse_extent_is_refused_clearly()
    {
        using var dir = new TempDirectory();
        var cowd = new byte[4096];
        BinaryPrimitives.WriteUInt32LittleEndian(cowd, 0x44574F43);
        await File.WriteAllBytesAsync(dir.File("c-delta.vmdk"), cowd);
        var path = dir.File("c.vmdk");
        await File.WriteAllTextAsync(path, Descriptor("00000001", "ffffffff", null, "RW 2048 VMFSSPARSE \"c-delta.vmdk\""));

        var e = await RefusedAsync(path);
        Assert.Contains("COWD", e.Message, StringComparison.Ordinal);
        Assert.Equal(dir.File("c-delta.vmdk"), e.Image);
    }

    [Fact]
    public async Task A_latin1_descriptor_naming_a_vmfs_extent_reads_its_file()
    {
        using var dir = new TempDirectory();
        var data = TestData.Random(1 << 20, 4);
        await File.WriteAllBytesAsync(dir.File("d\u00EDsk-flat.vmdk"), data);
        var path = dir.File("disk.vmdk");
        await File.WriteAllBytesAsync(path, Encoding.Latin1.GetBytes(Descriptor("00000001", "ffffffff", null, "RW 2048 VMFS \"d\u00EDsk-flat.vmdk\"")));

        await using var disk = await DiskImage.OpenAsync(path);
        var content = new byte[disk.Capacity];
        await disk.ReadAsync(0, content);
        Assert.Equal(data, content);
    }

    private static string Descriptor(string cid, string parentCid, string? parentHint, string extents)
    {
        var text = new StringBuilder();
        text.Append("# Disk DescriptorFile\nversion=1\n");
        text.Append("CID=").Append(cid).Append('\n');
        text.Append("parentCID=").Append(parentCid).Append('\n');
        text.Append("createType=\"monolithicFlat\"\n");
        if (parentHint is not null)
        {
            text.Append("parentFileNameHint=\"").Append(parentHint).Append("\"\n");
        }

        text.Append("\n# Extent description\n").Append(extents).Append('\n');
        return text.ToString();
    }
}
