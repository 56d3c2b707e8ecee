using Whitesky.Nbd.Tests.Peers;
using static Whitesky.DiskFormats.Tests.Qcow2.Qcow2Peers;

namespace Whitesky.DiskFormats.Tests.Core;

public class SequentialDiskTests
{
    [Fact]
    public async Task A_random_access_disk_read_as_chunks_rebuilds_qemus_content_and_skips_holes()
    {
        using var dir = new TempDirectory();
        var path = dir.File("disk.qcow2");
        await ExternalTool.RunAsync("qemu-img", ["create", "-q", "-f", "qcow2", path, "16M"]);
        await QemuIoAsync(path, "write -P 0x11 0 3M", "write -z 4M 1M", "write -P 0x22 9M 64k");
        var (hash, _) = await QemuContentAsync(dir, path);

        await using var disk = await DiskImage.OpenAsync(path);
        await using var sequential = SequentialDisk.FromVirtualDisk(disk, chunkSize: 1 << 20);
        var rebuilt = new byte[sequential.Capacity];
        long dataBytes = 0, zeroBytes = 0, lastEnd = 0;
        await foreach (var chunk in sequential.ReadChunksAsync())
        {
            Assert.True(chunk.Offset >= lastEnd, "chunks arrive in offset order without overlap");
            lastEnd = chunk.End;
            if (chunk.Kind == DiskChunkKind.Data)
            {
                Assert.True(chunk.Length <= 1 << 20);
                chunk.Data.Span.CopyTo(rebuilt.AsSpan((int)chunk.Offset));
                dataBytes += chunk.Length;
            }
            else
            {
                zeroBytes += chunk.Length;
            }
        }

        Assert.Equal(hash, TestData.Sha256(rebuilt));
        Assert.Equal((3L << 20) + (64 << 10), dataBytes);
        Assert.Equal(1L << 20, zeroBytes);
        Assert.Throws<InvalidOperationException>(() => sequential.ReadChunksAsync());
    }
}
