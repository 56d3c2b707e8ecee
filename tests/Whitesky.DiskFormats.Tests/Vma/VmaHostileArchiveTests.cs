using System.Buffers.Binary;
using Whitesky.DiskFormats.Vma;
using Whitesky.Nbd.Tests.Peers;

namespace Whitesky.DiskFormats.Tests.Vma;

/// <summary>Malformed archives fail with a DiskFormatException that says what is wrong, in both readers, without hanging.</summary>
public class VmaHostileArchiveTests
{
    private static (VmaTestWriter Writer, List<(int DeviceId, uint Cluster)> Order) Small()
    {
        var first = TestData.Random(200_000, 1);
        Array.Clear(first, 70_000, 30_000);
        var writer = new VmaTestWriter();
        writer.AddConfig("qemu-server.conf", "memory: 512\n"u8.ToArray());
        writer.AddDevice("drive-scsi0", first);
        writer.AddDevice("drive-scsi1", TestData.Random(100_000, 2));
        return (writer, writer.ShuffledClusters(4));
    }

    private static byte[] Archive(Action<byte[], List<int>>? change = null, int perExtent = 2)
    {
        var (writer, order) = Small();
        var bytes = writer.Build(order, perExtent);
        change?.Invoke(bytes, VmaTestWriter.ExtentOffsets(bytes));
        return bytes;
    }

    public static TheoryData<string, string> Cases => new()
    {
        { "bad magic", "is not \"VMA\\0\"" },
        { "bad version", "version 2 is not supported" },
        { "huge header_size", "header_size" },
        { "bad header md5", "does not match the header's" },
        { "bad device name pointer", "name pointer" },
        { "bad extent magic", "is not \"VMAE\"" },
        { "bad extent md5", "does not match the extent header's" },
        { "foreign extent uuid", "is not the archive's" },
        { "unknown dev_id", "dev_id 9 is not in the archive's device table (1 drive-scsi0" },
        { "cluster beyond device", "cluster 1000 of device" },
        { "wrong block_count", "block_count" },
        { "cluster twice", "is stored twice" },
        { "truncated in header", "header" },
        { "truncated in extent header", "bytes into the extent header (truncated)" },
        { "truncated in extent data", "bytes of blocks (truncated)" },
        { "truncated at extent boundary", "(truncated?)" },
        { "256 TiB device claimed", "ends without cluster 2 of device drive-scsi1" },
        { "device larger than 2^32 clusters", "larger than 2^32 clusters" },
    };

    private static byte[] Make(string name) => name switch
    {
        "bad magic" => Archive((b, _) => b[0] = (byte)'X'),
        "bad version" => Archive((b, _) => BinaryPrimitives.WriteUInt32BigEndian(b.AsSpan(4), 2)),
        "huge header_size" => Archive((b, _) => BinaryPrimitives.WriteUInt32BigEndian(b.AsSpan(56), int.MaxValue)),
        "bad header md5" => Archive((b, _) => b[VmaTestWriter.HeaderFixedSize + 5] ^= 0x40),
        "bad device name pointer" => Archive((b, _) =>
        {
            BinaryPrimitives.WriteUInt32BigEndian(b.AsSpan(4096 + 32), 2);
            VmaTestWriter.RehashHeader(b);
        }),
        "bad extent magic" => Archive((b, e) => b[e[1]] = (byte)'X'),
        "bad extent md5" => Archive((b, e) => b[e[1] + 47] ^= 1),
        "foreign extent uuid" => Archive((b, e) =>
        {
            b[e[1] + 9] ^= 0xFF;
            VmaTestWriter.RehashExtent(b, e[1]);
        }),
        "unknown dev_id" => Archive((b, e) =>
        {
            b[e[1] + 40 + 3] = 9;
            VmaTestWriter.RehashExtent(b, e[1]);
        }),
        "cluster beyond device" => Archive((b, e) =>
        {
            BinaryPrimitives.WriteUInt32BigEndian(b.AsSpan(e[1] + 44), 1000);
            VmaTestWriter.RehashExtent(b, e[1]);
        }),
        "wrong block_count" => Archive((b, e) =>
        {
            BinaryPrimitives.WriteUInt16BigEndian(b.AsSpan(e[0] + 6), (ushort)(BinaryPrimitives.ReadUInt16BigEndian(b.AsSpan(e[0] + 6)) + 1));
            VmaTestWriter.RehashExtent(b, e[0]);
        }),
        "cluster twice" => Twice(),
        "truncated in header" => Archive()[..5000],
        "truncated in extent header" => Cut(e => e[^1] + 100),
        "truncated in extent data" => Cut(e => e[^1] + 512 + 100),
        "truncated at extent boundary" => Cut(e => e[^1]),
        "256 TiB device claimed" => Archive((b, _) =>
        {
            BinaryPrimitives.WriteUInt64BigEndian(b.AsSpan(4096 + 64 + 8), 1UL << 48);
            VmaTestWriter.RehashHeader(b);
        }),
        "device larger than 2^32 clusters" => Archive((b, _) =>
        {
            BinaryPrimitives.WriteUInt64BigEndian(b.AsSpan(4096 + 64 + 8), (1UL << 48) + 1);
            VmaTestWriter.RehashHeader(b);
        }),
        _ => throw new ArgumentOutOfRangeException(nameof(name)),
    };

    private static byte[] Cut(Func<List<int>, int> at)
    {
        var bytes = Archive();
        return bytes[..at(VmaTestWriter.ExtentOffsets(bytes))];
    }

    private static byte[] Twice()
    {
        var (writer, order) = Small();
        order.Insert(5, order[1]);
        return writer.Build(order, 3);
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public async Task Sequential_reader_refuses(string name, string expected)
    {
        var bytes = Make(name);
        var e = await Assert.ThrowsAsync<DiskFormatException>(async () =>
        {
            await using var archive = await VmaArchive.OpenAsync(new ForwardOnlyStream(new MemoryStream(bytes)), "hostile.vma");
            await foreach (var chunk in archive.ReadChunksAsync())
            {
            }
        });
        Assert.Contains(expected, e.Message, StringComparison.Ordinal);
        Assert.StartsWith("hostile.vma", e.Message, StringComparison.Ordinal);
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public async Task Indexing_reader_refuses(string name, string expected)
    {
        var bytes = Make(name);
        var e = await Assert.ThrowsAsync<DiskFormatException>(async () =>
        {
            await using var image = await VmaImage.OpenAsync(new MemorySource(bytes, "hostile.vma"));
        });
        Assert.Contains(expected, e.Message, StringComparison.Ordinal);
        Assert.StartsWith("hostile.vma", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Corrupt_gzip_stream_is_a_format_error()
    {
        using var dir = new TempDirectory();
        var path = dir.File("backup.vma");
        await File.WriteAllBytesAsync(path, Archive());
        await ExternalTool.RunAsync("gzip", ["-q", path]);
        var bytes = await File.ReadAllBytesAsync(path + ".gz");
        for (var i = bytes.Length / 2; i < (bytes.Length / 2) + 64; i++)
        {
            bytes[i] ^= 0x5A;
        }

        await Assert.ThrowsAsync<DiskFormatException>(async () =>
        {
            await using var archive = await VmaArchive.OpenAsync(new ForwardOnlyStream(new MemoryStream(bytes)), "backup.vma.gz");
            await foreach (var chunk in archive.ReadChunksAsync())
            {
            }
        });
    }

    [Fact]
    public async Task Lzo_compressed_archive_is_refused_by_name()
    {
        byte[] lzop = [0x89, 0x4C, 0x5A, 0x4F, 0x00, 0x0D, 0x0A, 0x1A, 0x0A];
        var e = await Assert.ThrowsAsync<DiskFormatException>(() => VmaArchive.OpenAsync(new MemoryStream(lzop), "backup.vma.lzo"));
        Assert.Contains("lzo", e.Message, StringComparison.Ordinal);
    }
}
