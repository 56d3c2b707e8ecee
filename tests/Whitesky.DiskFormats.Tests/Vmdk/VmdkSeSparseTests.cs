using System.Buffers.Binary;
using Whitesky.Nbd.Tests.Peers;
using static Whitesky.DiskFormats.Tests.Vmdk.VmdkTestImages;

namespace Whitesky.DiskFormats.Tests.Vmdk;

/// <summary>
/// seSparse images cannot be made by qemu-img, so the tests build them from the layout qemu reads (constant
/// header, volatile header, 64-bit grain directory and tables) and check our reading against qemu's.
/// </summary>
public class VmdkSeSparseTests
{
    private const long Capacity = 64L << 20;
    private const int GrainBytes = 4096;
    private const int TableEntries = 4096; // 64 sectors of 8-byte entries: 16 MiB per table

    // Sectors of each region.
    private const long VolatileHeader = 1;
    private const long JournalHeader = 2;
    private const long Journal = 3;
    private const long Directory = 4;
    private const long Tables = 8;
    private const long TableSectors = TableEntries * 8 / 512;
    private const long FreeBitmap = Tables + 4 * TableSectors;
    private const long BackMap = FreeBitmap + 1;
    private const long Grains = BackMap + 1;

    private static (byte[] Image, byte[] Expected) Build(bool dirty = false)
    {
        var expected = new byte[Capacity];
        var grains = new List<(long Lba, byte[] Data)>();
        for (var i = 0; i < 16; i++)
        {
            grains.Add(((1L << 20) / GrainBytes + i, TestData.Random(GrainBytes, 100 + i)));
        }

        grains.Add(((40L << 20) / GrainBytes, TestData.Random(GrainBytes, 7)));
        grains.Add(((40L << 20) / GrainBytes + 1, TestData.Random(GrainBytes, 8)));
        grains.Reverse(); // stored out of order, so the mapping matters

        var tables = new ulong[4][];
        var directory = new ulong[4];
        var nextTable = 0u;
        ulong[] Table(long lba)
        {
            var t = (int)(lba / TableEntries);
            if (tables[t] is null)
            {
                tables[t] = new ulong[TableEntries];
                directory[t] = 0x1000000000000000UL | nextTable++;
            }

            return tables[t];
        }

        // Touch the table for 40 MiB first so that table slot 0 holds directory entry 2.
        Table((40L << 20) / GrainBytes);
        var data = new MemoryStream();
        for (var n = 0; n < grains.Count; n++)
        {
            var (lba, bytes) = grains[n];
            var number = (ulong)n;
            Table(lba)[lba % TableEntries] = 0x3000000000000000UL | ((number & 0xFFF) << 48) | (number >> 12);
            data.Write(bytes);
            bytes.CopyTo(expected, lba * GrainBytes);
        }

        // A zero grain over data of the parent-less disk, and an unmapped one: both read as zeroes.
        Table((5L << 20) / GrainBytes)[(5L << 20) / GrainBytes % TableEntries] = 0x2000000000000000UL;
        Table((6L << 20) / GrainBytes)[(6L << 20) / GrainBytes % TableEntries] = 0x1000000000000000UL;

        var image = new byte[Grains * 512 + data.Length];
        var h = image.AsSpan();
        BinaryPrimitives.WriteUInt64LittleEndian(h, 0xCAFEBABE);
        BinaryPrimitives.WriteUInt64LittleEndian(h[8..], 0x0000000200000001UL);
        BinaryPrimitives.WriteUInt64LittleEndian(h[16..], Capacity / 512);
        BinaryPrimitives.WriteUInt64LittleEndian(h[24..], GrainBytes / 512);
        BinaryPrimitives.WriteUInt64LittleEndian(h[32..], TableSectors);
        void Region(int at, long offset, long size)
        {
            BinaryPrimitives.WriteUInt64LittleEndian(image.AsSpan(at), (ulong)offset);
            BinaryPrimitives.WriteUInt64LittleEndian(image.AsSpan(at + 8), (ulong)size);
        }

        Region(80, VolatileHeader, 1);
        Region(96, JournalHeader, 1);
        Region(112, Journal, 1);
        Region(128, Directory, 1);
        Region(144, Tables, 4 * TableSectors);
        Region(160, FreeBitmap, 1);
        Region(176, BackMap, 1);
        Region(192, Grains, data.Length / 512);
        BinaryPrimitives.WriteUInt64LittleEndian(image.AsSpan((int)VolatileHeader * 512), 0xCAFECAFE);
        BinaryPrimitives.WriteUInt64LittleEndian(image.AsSpan((int)VolatileHeader * 512 + 24), dirty ? 1UL : 0UL);
        for (var t = 0; t < 4; t++)
        {
            BinaryPrimitives.WriteUInt64LittleEndian(image.AsSpan((int)Directory * 512 + t * 8), directory[t]);
            if (tables[t] is { } table)
            {
                var slot = (int)(directory[t] & 0xFFFFFFFF);
                for (var i = 0; i < TableEntries; i++)
                {
                    BinaryPrimitives.WriteUInt64LittleEndian(image.AsSpan((int)((Tables + slot * TableSectors) * 512) + i * 8), table[i]);
                }
            }
        }

        data.ToArray().CopyTo(image, Grains * 512);
        return (image, expected);
    }

    private static async Task<string> WriteAsync(TempDirectory dir, byte[] image)
    {
        await File.WriteAllBytesAsync(dir.File("snap-sesparse.vmdk"), image);
        var path = dir.File("snap.vmdk");
        await File.WriteAllTextAsync(path, $"# Disk DescriptorFile\nversion=1\nCID=12345678\nparentCID=ffffffff\ncreateType=\"seSparse\"\n\n# Extent description\nRW {Capacity / 512} SESPARSE \"snap-sesparse.vmdk\"\n\n# The Disk Data Base\n#DDB\n\nddb.virtualHWVersion = \"4\"\n");
        return path;
    }

    [Fact]
    public async Task An_sesparse_extent_reads_and_maps_like_qemu()
    {
        using var dir = new TempDirectory();
        var (image, expected) = Build();
        var path = await WriteAsync(dir, image);

        await using var disk = await OpenAndCompareAsync(path, dir);
        Assert.Equal(TestData.Sha256(expected), await OurSha256Async(disk));
        var info = disk.Describe();
        Assert.Equal("seSparse", info.Subformat);
        Assert.Equal(GrainBytes, info.ClusterSize);
        Assert.Contains("sesparse", info.Features);

        var extents = new List<DiskExtent>();
        await foreach (var e in disk.GetExtentsAsync(0, disk.Capacity))
        {
            extents.Add(e);
        }

        Assert.Contains(new DiskExtent(5L << 20, GrainBytes, DiskExtentKind.Zero), extents);
        Assert.Contains(new DiskExtent(6L << 20, GrainBytes, DiskExtentKind.Zero), extents);
    }

    [Fact]
    public async Task An_sesparse_extent_whose_journal_needs_replay_is_refused()
    {
        using var dir = new TempDirectory();
        var path = await WriteAsync(dir, Build(dirty: true).Image);

        var e = await Assert.ThrowsAsync<DiskFormatException>(() => DiskImage.OpenAsync(path).WaitAsync(TimeSpan.FromSeconds(10)));
        Assert.Equal("seSparse volatile header", e.Structure);
        Assert.Equal(VolatileHeader * 512 + 24, e.Offset);
        Assert.Contains("journal", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task An_sesparse_grain_table_outside_its_region_is_refused()
    {
        using var dir = new TempDirectory();
        var (image, _) = Build();
        BinaryPrimitives.WriteUInt64LittleEndian(image.AsSpan((int)Directory * 512), 0x1000000000000000UL | 1000);
        var path = await WriteAsync(dir, image);

        var e = await Assert.ThrowsAsync<DiskFormatException>(async () =>
        {
            await using var disk = await DiskImage.OpenAsync(path);
            await OurSha256Async(disk);
        });
        Assert.Equal("grain table", e.Structure);
        Assert.Equal((Tables + 1000 * TableSectors) * 512, e.Offset);
    }

    [Fact]
    public async Task An_sesparse_grain_entry_of_unknown_state_is_refused_naming_its_offset()
    {
        using var dir = new TempDirectory();
        var (image, _) = Build();
        // Grain 1 MiB sits in table 0, which is stored in slot 1 (the table for 40 MiB was allocated first).
        var entry = (Tables + TableSectors) * 512 + (1L << 20) / GrainBytes * 8;
        BinaryPrimitives.WriteUInt64LittleEndian(image.AsSpan((int)entry), 0x7000000000000000UL);
        var path = await WriteAsync(dir, image);

        var e = await Assert.ThrowsAsync<DiskFormatException>(async () =>
        {
            await using var disk = await DiskImage.OpenAsync(path);
            await OurSha256Async(disk);
        });
        Assert.Equal("grain table entry", e.Structure);
        Assert.Equal(entry, e.Offset);
    }
}
