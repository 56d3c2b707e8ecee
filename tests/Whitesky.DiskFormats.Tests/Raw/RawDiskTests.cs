using System.Text.Json;
using Whitesky.Nbd.Tests.Peers;

namespace Whitesky.DiskFormats.Tests.Raw;

public class RawDiskTests
{
    /// <summary>qemu-img's map of an image as (start, length, data) runs, adjacent equal runs merged.</summary>
    internal static async Task<List<(long Start, long Length, bool Data)>> QemuMapAsync(string path, string format)
    {
        var json = JsonDocument.Parse(await ExternalTool.RunAsync("qemu-img", ["map", "--output=json", "-f", format, path]));
        var runs = new List<(long Start, long Length, bool Data)>();
        foreach (var e in json.RootElement.EnumerateArray())
        {
            Add(runs, e.GetProperty("start").GetInt64(), e.GetProperty("length").GetInt64(), e.GetProperty("data").GetBoolean());
        }

        return runs;
    }

    internal static async Task<List<(long Start, long Length, bool Data)>> OurMapAsync(IVirtualDisk disk)
    {
        var runs = new List<(long Start, long Length, bool Data)>();
        await foreach (var extent in disk.GetExtentsAsync(0, disk.Capacity))
        {
            Add(runs, extent.Offset, extent.Length, extent.Kind == DiskExtentKind.Data);
        }

        return runs;
    }

    private static void Add(List<(long Start, long Length, bool Data)> runs, long start, long length, bool data)
    {
        if (runs.Count > 0 && runs[^1].Data == data && runs[^1].Start + runs[^1].Length == start)
        {
            runs[^1] = (runs[^1].Start, runs[^1].Length + length, data);
        }
        else
        {
            runs.Add((start, length, data));
        }
    }

    [Fact]
    public async Task A_sparse_raw_file_reads_byte_for_byte_and_maps_like_qemu_img()
    {
        using var dir = new TempDirectory();
        var path = dir.File("disk.raw");
        await ExternalTool.RunAsync("qemu-img", ["create", "-q", "-f", "raw", path, "64M"]);
        await ExternalTool.RunAsync("qemu-io", ["-f", "raw", "-c", "write -P 0xaa 1M 3M", "-c", "write -P 0x55 40M 64k", "-c", "write -z 50M 1M", path]);

        await using var disk = await DiskImage.OpenAsync(path);
        Assert.Equal("raw", disk.Describe().Format);
        Assert.Equal(64L << 20, disk.Capacity);

        var content = new byte[disk.Capacity];
        await disk.ReadAsync(0, content);
        Assert.Equal(await TestData.Sha256FileAsync(path), TestData.Sha256(content));

        var ours = await OurMapAsync(disk);
        Assert.Equal(await QemuMapAsync(path, "raw"), ours);
        Assert.Contains(ours, r => r.Data && r.Start <= (1L << 20) && r.Start + r.Length >= 4L << 20);
        Assert.Contains(ours, r => !r.Data);
    }

    [Fact]
    public async Task A_format_named_by_the_caller_is_never_probed()
    {
        using var dir = new TempDirectory();
        var path = dir.File("looks-like.qcow2");
        await ExternalTool.RunAsync("qemu-img", ["create", "-q", "-f", "qcow2", path, "16M"]);

        await using var disk = await DiskImage.OpenAsync(path, new DiskImageOptions { Format = "raw" });
        Assert.Equal("raw", disk.Describe().Format);
        Assert.Equal(new FileInfo(path).Length, disk.Capacity);
        var head = new byte[4];
        await disk.ReadAsync(0, head);
        Assert.Equal("QFI"u8.ToArray(), head[..3]);

        var unknown = await Assert.ThrowsAsync<DiskFormatException>(() => DiskImage.OpenAsync(path, new DiskImageOptions { Format = "floppy" }));
        Assert.Contains("floppy", unknown.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Reads_outside_the_disk_are_refused()
    {
        await using var disk = await DiskImage.OpenAsync(new MemorySource(new byte[4096]));
        await Assert.ThrowsAsync<ArgumentOutOfRangeException>(() => disk.ReadAsync(4000, new byte[200]).AsTask());
        var extents = new List<DiskExtent>();
        await foreach (var e in disk.GetExtentsAsync(0, 4096))
        {
            extents.Add(e);
        }

        Assert.Equal([new DiskExtent(0, 4096, DiskExtentKind.Data)], extents);
    }
}
