using System.Text;
using Whitesky.DiskFormats.Containers;
using Whitesky.DiskFormats.Vma;
using Whitesky.Nbd.Tests.Peers;
using static Whitesky.DiskFormats.Tests.Vma.VmaTestArchives;

namespace Whitesky.DiskFormats.Tests.Vma;

/// <summary>The sequential reader over streams that do not seek: plain, gzip and zstd (compressed by the real tools).</summary>
public class VmaArchiveTests
{
    [Theory]
    [InlineData(null, 59)]
    [InlineData(null, 7)]
    [InlineData("gzip", 59)]
    [InlineData("zstd", 13)]
    public async Task Out_of_order_archive_streams_both_devices_like_qemu(string? compression, int perExtent)
    {
        using var dir = new TempDirectory();
        var (first, second) = await MakeDevicesAsync(dir);
        var writer = Writer(first, second);
        var order = writer.ShuffledClusters(seed: 5);
        var path = dir.File("vzdump-qemu-100.vma");
        await File.WriteAllBytesAsync(path, writer.Build(order, perExtent));
        if (compression is not null)
        {
            // The real tools, as vzdump runs them (gzip/pigz, zstd).
            await ExternalTool.RunAsync(compression, ["-q", path]);
            path += compression == "gzip" ? ".gz" : ".zst";
        }

        await using var archive = await VmaArchive.OpenAsync(new ForwardOnlyStream(File.OpenRead(path)), Path.GetFileName(path));
        Assert.Equal(compression, archive.Compression);
        Assert.Equal(new Guid(writer.Uuid, bigEndian: true), archive.Header.Uuid);
        Assert.Equal(DateTimeOffset.FromUnixTimeSeconds(writer.CreationTime), archive.Header.CreationTime);
        Assert.Equal([new VmaDevice(1, "drive-scsi0", FirstSize), new VmaDevice(2, "drive-virtio1", SecondSize)], archive.Header.Devices);
        Assert.Equal(["qemu-server.conf", "qemu-server.fw"], archive.Header.ConfigFiles.Keys.Order());
        Assert.Equal(ConfigText, Encoding.UTF8.GetString(archive.Header.ConfigFiles["qemu-server.conf"].Span));

        var devices = new[] { new DeviceImage(first), new DeviceImage(second) };
        var offsets = new List<(int Device, long Offset)>();
        await foreach (var (device, chunk) in archive.ReadChunksAsync())
        {
            devices[device.Id - 1].Apply(chunk);
            offsets.Add((device.Id, chunk.Offset));
        }

        // Chunks arrive in the archive's order (shuffled clusters, devices interleaved), not in offset order.
        Assert.Contains(offsets.Zip(offsets.Skip(1)), p => p.First.Device == p.Second.Device && p.Second.Offset < p.First.Offset);
        Assert.Contains(offsets.Zip(offsets.Skip(1)), p => p.First.Device != p.Second.Device);
        foreach (var device in devices)
        {
            device.AssertComplete();
        }

        await Assert.ThrowsAsync<InvalidOperationException>(async () =>
        {
            await foreach (var chunk in archive.ReadChunksAsync())
            {
            }
        });
    }

    [Fact]
    public async Task One_device_reads_as_a_sequential_disk_out_of_offset_order()
    {
        using var dir = new TempDirectory();
        var (first, second) = await MakeDevicesAsync(dir);
        var writer = Writer(first, second);
        var bytes = writer.Build(writer.ShuffledClusters(seed: 8));

        await using var archive = await VmaArchive.OpenAsync(new ForwardOnlyStream(new MemoryStream(bytes)), "backup.vma");
        await using var disk = archive.GetDevice(archive.Header.FindDevice("drive-virtio1")!);
        Assert.False(disk.ChunksInOffsetOrder);
        Assert.Equal(SecondSize, disk.Capacity);
        Assert.Equal("vma", disk.Describe().Format);
        Assert.Equal("backup.vma:drive-virtio1", disk.Name);
        var image = new DeviceImage(second);
        await foreach (var chunk in disk.ReadChunksAsync())
        {
            image.Apply(chunk);
        }

        image.AssertComplete();
        Assert.Same(archive.Header.Devices[1], archive.Header.FindDevice("2"));
        Assert.Null(archive.Header.FindDevice("drive-ide9"));
    }

    [Theory]
    [InlineData(null)]
    [InlineData("gzip")]
    [InlineData("zstd")]
    public async Task A_sequential_archive_recognises_a_vma_archive_and_its_devices_are_its_disks(string? compression)
    {
        using var dir = new TempDirectory();
        var (first, second) = await MakeDevicesAsync(dir);
        var writer = Writer(first, second);
        var path = dir.File("vzdump-qemu-100.vma");
        await File.WriteAllBytesAsync(path, writer.Build(writer.ShuffledClusters(seed: 4), perExtent: 11));
        if (compression is not null)
        {
            await ExternalTool.RunAsync(compression, ["-q", path]);
            path += compression == "gzip" ? ".gz" : ".zst";
        }

        await using var pipe = Containers.PipeStream.OpenFile(path, seed: 6);
        await using var archive = await SequentialArchive.OpenAsync(pipe, "backup");
        Assert.Equal(compression is null ? ["vma"] : new[] { compression, "vma" }, archive.Layers);
        var names = new List<string>();
        await foreach (var disk in archive.ReadDisksAsync())
        {
            names.Add(disk.Name);
            if (disk.Name.EndsWith("drive-virtio1", StringComparison.Ordinal))
            {
                // Reading the second device reads (and checks) the whole archive: the first was skipped, unread.
                Assert.False(disk.ChunksInOffsetOrder);
                Assert.Equal(SecondSize, disk.Capacity);
                var image = new DeviceImage(second);
                await foreach (var chunk in disk.ReadChunksAsync())
                {
                    image.Apply(chunk);
                }

                image.AssertComplete();
            }
        }

        Assert.Equal(["backup:drive-scsi0", "backup:drive-virtio1"], names);
        Assert.Equal(new FileInfo(path).Length, pipe.BytesRead);
    }

    [Fact]
    public async Task Clusters_stored_in_order_come_as_few_large_chunks_across_extents()
    {
        var content = new byte[7 << 20];
        TestData.Random(2 << 20, 3).CopyTo(content, 0);
        TestData.Random(1 << 20, 4).CopyTo(content, 6 << 20);
        var writer = new VmaTestWriter();
        writer.AddDevice("drive-scsi0", content);

        // 59 clusters per extent: the zero run starts in the first extent and ends in the second.
        await using var archive = await VmaArchive.OpenAsync(new ForwardOnlyStream(new MemoryStream(writer.Build(writer.AllClusters()))), "ordered.vma");
        var chunks = new List<(long Offset, long Length, DiskChunkKind Kind, string Hash)>();
        await foreach (var (_, chunk) in archive.ReadChunksAsync())
        {
            chunks.Add((chunk.Offset, chunk.Length, chunk.Kind, chunk.Kind == DiskChunkKind.Data ? TestData.Sha256(chunk.Data.Span) : ""));
        }

        Assert.Equal(
        [
            (0L, 2L << 20, DiskChunkKind.Data, TestData.Sha256(content.AsSpan(0, 2 << 20))),
            (2L << 20, 4L << 20, DiskChunkKind.Zero, ""),
            (6L << 20, 1L << 20, DiskChunkKind.Data, TestData.Sha256(content.AsSpan(6 << 20, 1 << 20))),
        ], chunks);
    }

    /// <summary>A device rebuilt from chunks: every 4 KiB block must come exactly once, data only where it is non-zero.</summary>
    private sealed class DeviceImage(byte[] expected)
    {
        private readonly byte[] _content = new byte[expected.Length];
        private readonly int[] _covered = new int[(expected.Length + VmaTestWriter.BlockSize - 1) / VmaTestWriter.BlockSize];

        public void Apply(DiskChunk chunk)
        {
            Assert.Equal(0, chunk.Offset % VmaTestWriter.BlockSize);
            Assert.True(chunk.End <= expected.Length, $"chunk {chunk.Offset}+{chunk.Length} beyond the device");
            if (chunk.Kind == DiskChunkKind.Data)
            {
                Assert.Equal(chunk.Length, chunk.Data.Length);
                chunk.Data.Span.CopyTo(_content.AsSpan((int)chunk.Offset));
            }
            else
            {
                Assert.False(expected.AsSpan((int)chunk.Offset, (int)chunk.Length).ContainsAnyExcept((byte)0), $"zero chunk at {chunk.Offset} over data");
            }

            for (var block = chunk.Offset / VmaTestWriter.BlockSize; block * VmaTestWriter.BlockSize < chunk.End; block++)
            {
                _covered[block]++;
            }
        }

        public void AssertComplete()
        {
            Assert.All(_covered, count => Assert.Equal(1, count));
            Assert.Equal(TestData.Sha256(expected), TestData.Sha256(_content));
        }
    }
}
