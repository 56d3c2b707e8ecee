using System.Text;
using Whitesky.DiskFormats.Vma;
using Whitesky.Nbd.Tests.Peers;
using static Whitesky.DiskFormats.Tests.Vma.VmaTestArchives;

namespace Whitesky.DiskFormats.Tests.Vma;

/// <summary>Random access over an indexed archive file: each device reads and maps like qemu's raw conversion of its source.</summary>
public class VmaImageTests
{
    [Theory]
    [InlineData(59, 3)]
    [InlineData(5, 11)]
    public async Task Devices_read_and_map_like_qemu_convert_of_their_source(int perExtent, int seed)
    {
        using var dir = new TempDirectory();
        var (first, second) = await MakeDevicesAsync(dir);
        var writer = Writer(first, second);
        var path = dir.File("backup.vma");
        await File.WriteAllBytesAsync(path, writer.Build(writer.ShuffledClusters(seed), perExtent));

        await using var image = await VmaImage.OpenAsync(path);
        Assert.Equal(2, image.Header.Devices.Count);
        Assert.Equal(ConfigText, Encoding.UTF8.GetString(image.Header.ConfigFiles["qemu-server.conf"].Span));
        foreach (var (device, expected) in image.Header.Devices.Zip([first, second]))
        {
            await using var disk = image.OpenDevice(device);
            Assert.Equal(expected.LongLength, disk.Capacity);
            var info = disk.Describe();
            Assert.Equal("vma", info.Format);
            Assert.Equal($"{path}:{device.Name}", info.Name);
            Assert.Equal(65536, info.ClusterSize);

            var whole = new byte[disk.Capacity];
            await disk.ReadAsync(0, whole);
            Assert.Equal(TestData.Sha256(expected), TestData.Sha256(whole));

            // Uneven concurrent reads that start and end inside blocks and clusters.
            var chunked = new byte[disk.Capacity];
            const int chunk = 70_000;
            var starts = Enumerable.Range(0, (int)((disk.Capacity + chunk - 1) / chunk)).Select(i => (long)i * chunk).ToList();
            await Parallel.ForEachAsync(starts, async (at, ct) =>
                await disk.ReadAsync(at, chunked.AsMemory((int)at, (int)Math.Min(chunk, disk.Capacity - at)), ct));
            Assert.Equal(TestData.Sha256(expected), TestData.Sha256(chunked));

            var kinds = await KindsAsync(disk, 0, disk.Capacity);
            Assert.Equal(ExpectedKinds(expected), kinds);
            Assert.Contains(kinds, k => k.Kind == DiskExtentKind.Zero);
            Assert.Equal(kinds.Where(k => k.Kind == DiskExtentKind.Data).Sum(k => k.Length), await DiskImage.CountAllocatedBytesAsync(disk));

            // A map of any sub-range is the whole map clipped to it.
            var random = new Random(seed);
            for (var i = 0; i < 30; i++)
            {
                var start = random.NextInt64(0, disk.Capacity);
                var length = random.NextInt64(0, disk.Capacity - start + 1);
                var clipped = kinds
                    .Where(r => r.Start < start + length && r.Start + r.Length > start)
                    .Select(r => (Start: Math.Max(r.Start, start), End: Math.Min(r.Start + r.Length, start + length), r.Kind))
                    .Select(r => (r.Start, r.End - r.Start, r.Kind))
                    .ToList();
                Assert.Equal(clipped, await KindsAsync(disk, start, length));
            }
        }
    }

    [Fact]
    public async Task A_single_device_archive_opens_through_DiskImage_and_converts_like_its_source()
    {
        using var dir = new TempDirectory();
        var (first, _) = await MakeDevicesAsync(dir);
        var writer = new VmaTestWriter();
        writer.AddConfig("qemu-server.conf", Encoding.UTF8.GetBytes(ConfigText));
        writer.AddDevice("drive-scsi0", first);
        var path = dir.File("single.vma");
        await File.WriteAllBytesAsync(path, writer.Build(writer.ShuffledClusters(2)));

        await using (var source = FileSource.Open(path))
        {
            Assert.Equal("vma", await DiskImage.ProbeAsync(source));
        }

        await using var disk = await DiskImage.OpenAsync(path);
        Assert.Equal(FirstSize, disk.Capacity);
        var whole = new byte[disk.Capacity];
        await disk.ReadAsync(0, whole);
        Assert.Equal(TestData.Sha256(first), TestData.Sha256(whole));
    }

    [Fact]
    public async Task A_multi_device_archive_through_DiskImage_is_refused_naming_the_devices()
    {
        var writer = new VmaTestWriter();
        writer.AddDevice("drive-scsi0", new byte[70_000]);
        writer.AddDevice("drive-scsi1", new byte[4096]);
        var source = new MemorySource(writer.Build(writer.AllClusters()), "two.vma");

        var e = await Assert.ThrowsAsync<DiskFormatException>(() => DiskImage.OpenAsync(source));
        Assert.Contains("drive-scsi0", e.Message, StringComparison.Ordinal);
        Assert.Contains("drive-scsi1", e.Message, StringComparison.Ordinal);
        Assert.Contains("--device", e.Message, StringComparison.Ordinal);
    }
}
