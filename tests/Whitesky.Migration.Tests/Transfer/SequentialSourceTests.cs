using Whitesky.DiskFormats.Containers;
using Whitesky.DiskFormats.Tests.Containers;
using Whitesky.Migration.Sinks;
using Whitesky.Migration.Transfer;
using Whitesky.Nbd;
using Whitesky.Nbd.Tests.Peers;

namespace Whitesky.Migration.Tests.Transfer;

/// <summary>
/// Disks that arrive as a stream (an OVA, a gzipped tar from a cloud export, a compressed Proxmox backup) read once
/// through a stream that cannot seek, copied by the engine into nbdkit memory, read back with nbdcopy and compared
/// with qemu-img's decoding of the disk inside.
/// </summary>
public sealed class SequentialSourceTests
{
    private const string Identity = "alice";

    public static TheoryData<string, bool> SourcesAndTransports() => SourceImages.WithTransports(["ova", "tar.gz", "vma.zst"]);

    [Theory]
    [MemberData(nameof(SourcesAndTransports))]
    public async Task A_stream_copied_into_nbdkit_memory_reads_back_as_qemu_img_decodes_its_disk(string source, bool tlsPsk)
    {
        using var dir = new TempDirectory();
        var (archive, disk) = await CreateAsync(dir, source);
        var psk = TestData.WritePskFile(dir, Identity, TestData.Random(32, seed: 4));
        string[] tls = tlsPsk ? ["--tls=require", "--tls-psk=" + psk] : [];
        await using var server = await ServerProcess.StartNbdkitAsync(false, [.. tls, "memory", "48M"]);
        var uri = tlsPsk ? server.Uri(pskFile: psk, identity: Identity) : server.Uri();

        TransferSummary summary;
        bool inOffsetOrder;
        await using (var pipe = PipeStream.OpenFile(archive, seed: 3))
        await using (var sequential = await SequentialDiskImage.OpenAsync(pipe))
        await using (var sink = await NbdBlockSink.ConnectAsync(NbdUri.Parse(uri) with { Connections = 2 }))
        {
            Assert.Equal(SourceImages.Size, sequential.Capacity);
            inOffsetOrder = sequential.ChunksInOffsetOrder;
            summary = await new DiskTransfer().CopyAsync(sequential, sink);
        }

        Assert.Equal(await SourceImages.ReferenceSha256Async(dir, disk), await SourceImages.ExportSha256Async(dir, uri));
        Assert.Equal(source != "vma.zst", inOffsetOrder);
        Assert.True(summary.TargetIsZero);
        Assert.Equal(SourceImages.Size, summary.BytesWritten + summary.BytesSkipped);
    }

    /// <summary>The archive, and the disk inside it as qemu-img can read it.</summary>
    private static async Task<(string Archive, string Disk)> CreateAsync(TempDirectory dir, string source)
    {
        switch (source)
        {
            case "ova":
            {
                var disk = await SourceImages.CreateAsync(dir, "vmdk-stream", SourceImages.CreateRaw(dir));
                File.Move(disk, dir.File("disk1.vmdk"));
                await File.WriteAllTextAsync(dir.File("vm.ovf"), "<Envelope/>\n");
                var ova = dir.File("vm.ova");
                await ExternalTool.RunAsync("tar", ["--format=ustar", "-cf", ova, "-C", dir.Path, "vm.ovf", "disk1.vmdk"]);
                return (ova, dir.File("disk1.vmdk"));
            }

            case "tar.gz":
            {
                // Google Cloud's image export: a gzipped tar with one disk.raw.
                var raw = SourceImages.CreateRaw(dir, "disk.raw");
                var tarGz = dir.File("image.tar.gz");
                await ExternalTool.RunAsync("tar", ["-czf", tarGz, "-C", dir.Path, "disk.raw"]);
                return (tarGz, raw);
            }

            default:
            {
                // A vzdump backup compressed as a whole, its clusters out of offset order.
                var raw = SourceImages.CreateRaw(dir);
                var vma = dir.File("vzdump-qemu-100.vma");
                await File.WriteAllBytesAsync(vma, SourceImages.VmaOf(await File.ReadAllBytesAsync(raw), shuffled: true));
                await ExternalTool.RunAsync("zstd", ["-q", "--rm", vma]);
                return (vma + ".zst", raw);
            }
        }
    }
}
