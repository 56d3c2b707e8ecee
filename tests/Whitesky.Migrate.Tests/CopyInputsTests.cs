using System.Text.Json;
using Whitesky.DiskFormats.Tests.Vma;
using Whitesky.Migrate.Tests.Support;
using Whitesky.Nbd.Tests.Peers;

namespace Whitesky.Migrate.Tests;

/// <summary>
/// <c>copy</c> reads what the image commands read: OVA, tar and compressed files, VMA archives, and standard input
/// detected the same way (an OVA imported while it arrives through a pipe); raw standard input is still sized by the target.
/// </summary>
public sealed class CopyInputsTests
{
    private const string Identity = "alice";

    [Theory]
    [InlineData(null, null, false)]
    [InlineData("gzip", "disk2.vmdk", true)]
    [InlineData("zstd", null, true)]
    public async Task Copy_from_standard_input_imports_an_ova_as_it_arrives_through_a_pipe(string? compression, string? disk, bool tlsPsk)
    {
        using var dir = new TempDirectory();
        var (ova, hash1, hash2) = await ArchiveCommandsTests.MakeOvaAsync(dir);
        var input = ova;
        if (compression is not null)
        {
            await ExternalTool.RunAsync(compression, ["-q", "-k", ova]);
            input = ova + (compression == "gzip" ? ".gz" : ".zst");
        }

        var psk = TestData.WritePskFile(dir, Identity, TestData.Random(32, seed: 4));
        string[] tls = tlsPsk ? ["--tls=require", "--tls-psk=" + psk] : [];
        await using var server = await ServerProcess.StartNbdkitAsync(true, [.. tls, "memory", "32M"]);
        var uri = tlsPsk ? server.Uri(pskFile: psk, identity: Identity) : server.Uri();

        string[] args = ["copy", "-", uri, .. disk is null ? Array.Empty<string>() : ["--disk", disk]];
        var (exitCode, stderr) = await MigrateProcess.RunWithStdinAsync(input, args);

        Assert.True(exitCode == 0, stderr);
        Assert.Equal(disk is null ? hash1 : hash2, await TargetImage.Sha256Async(uri, dir));
        Assert.Contains($"copied {(disk is null ? 3211264 : 1048576)} bytes of data", stderr, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Copy_of_ova_and_compressed_tar_files_copies_the_chosen_disk()
    {
        using var dir = new TempDirectory();
        var (ova, hash1, hash2) = await ArchiveCommandsTests.MakeOvaAsync(dir);

        // An OVA file: its disks are read in place; --disk picks one.
        await using (var server = await ServerProcess.StartNbdkitAsync(true, "memory", "32M"))
        {
            var result = await MigrateCli.RunAsync("copy", "--disk", "disk2.vmdk", "--json", ova, server.Uri());
            Assert.True(result.ExitCode == 0, result.ToString());
            Assert.Equal(hash2, await TargetImage.Sha256Async(server.Uri(), dir));
            using var summary = JsonDocument.Parse(result.StdOut);
            Assert.Equal(1L << 20, summary.RootElement.GetProperty("bytesWritten").GetInt64());
        }

        // Google Cloud's export: a gzipped tar with disk.raw, read in one pass into a new raw file.
        var tarGz = dir.File("image.tar.gz");
        await ExternalTool.RunAsync("tar", ["-czf", tarGz, "-C", dir.Path, "disk1.raw"]);
        var target = dir.File("out.raw");
        var copied = await MigrateCli.RunAsync("copy", tarGz, target);
        Assert.True(copied.ExitCode == 0, copied.ToString());
        Assert.Equal(hash1, await TargetImage.FileSha256Async(target));
        Assert.Equal(32L << 20, new FileInfo(target).Length);

        var missing = await MigrateCli.RunAsync("copy", "--disk", "disk3.vmdk", ova, dir.File("none.raw"));
        Assert.Equal(1, missing.ExitCode);
        Assert.Contains("has no disk 'disk3.vmdk' (it has: disk1.vmdk, disk2.vmdk)", missing.StdErr, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(null, "drive-scsi0")]
    [InlineData("zstd", "drive-scsi1")]
    [InlineData("gzip", "2")]
    public async Task Copy_of_a_vma_archive_copies_the_device_named_by_disk(string? compression, string device)
    {
        using var dir = new TempDirectory();
        var (archive, first, second) = await MakeVmaAsync(dir, compression);
        var expected = device == "drive-scsi0" ? first : second;
        await using var server = await ServerProcess.StartNbdkitAsync(true, "memory", expected.Length.ToString(System.Globalization.CultureInfo.InvariantCulture));
        var result = await MigrateCli.RunAsync("copy", "--disk", device, archive, server.Uri());

        Assert.True(result.ExitCode == 0, result.ToString());
        Assert.Equal(TestData.Sha256(expected), await TargetImage.Sha256Async(server.Uri(), dir));

        var unnamed = await MigrateCli.RunAsync("copy", archive, server.Uri());
        Assert.Equal(1, unnamed.ExitCode);
        Assert.Contains("choose one with --device", unnamed.StdErr, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Copy_from_standard_input_reads_the_named_device_of_a_compressed_vma_archive()
    {
        using var dir = new TempDirectory();
        var (archive, _, second) = await MakeVmaAsync(dir, "zstd");
        await using var server = await ServerProcess.StartNbdkitAsync(true, "memory", second.Length.ToString(System.Globalization.CultureInfo.InvariantCulture));

        var (exitCode, stderr) = await MigrateProcess.RunWithStdinAsync(archive, "copy", "-", server.Uri(), "--disk", "drive-scsi1");

        Assert.True(exitCode == 0, stderr);
        Assert.Equal(TestData.Sha256(second), await TargetImage.Sha256Async(server.Uri(), dir));
    }

    /// <summary>A backup of two devices (data, zero runs, a partial last cluster), clusters shuffled, compressed as vzdump does.</summary>
    private static async Task<(string Archive, byte[] First, byte[] Second)> MakeVmaAsync(TempDirectory dir, string? compression)
    {
        var first = TestData.Random(3 << 20, seed: 11);
        first.AsSpan(1 << 20, 1 << 20).Clear();
        var second = new byte[(2 << 20) + 4096];
        TestData.Random(64 << 10, seed: 12).CopyTo(second, 512 << 10);
        var writer = new VmaTestWriter();
        writer.AddConfig("qemu-server.conf", "memory: 1024\n"u8.ToArray());
        writer.AddDevice("drive-scsi0", first);
        writer.AddDevice("drive-scsi1", second);
        var archive = dir.File("vzdump-qemu-100.vma");
        await File.WriteAllBytesAsync(archive, writer.Build(writer.ShuffledClusters(3), perExtent: 13));
        if (compression is not null)
        {
            await ExternalTool.RunAsync(compression, ["-q", archive]);
            archive += compression == "gzip" ? ".gz" : ".zst";
        }

        return (archive, first, second);
    }

    [Fact]
    public async Task Raw_standard_input_is_still_sized_by_the_target_and_refuses_disk()
    {
        using var dir = new TempDirectory();
        var raw = dir.File("data.raw");

        // Starts like nothing the probes know; shorter than the export, whose rest reads as zero.
        var data = TestData.Random(3 << 20, seed: 21);
        await File.WriteAllBytesAsync(raw, data);
        await using var server = await ServerProcess.StartNbdkitAsync(true, "memory", "4M");

        var refused = await MigrateProcess.RunWithStdinAsync(raw, "copy", "-", server.Uri(), "--disk", "disk1.vmdk");
        Assert.Equal(1, refused.ExitCode);
        Assert.Contains("standard input holds raw data", refused.StdErr, StringComparison.Ordinal);

        var (exitCode, stderr) = await MigrateProcess.RunWithStdinAsync(raw, "copy", "-", server.Uri());
        Assert.True(exitCode == 0, stderr);
        Assert.Equal(TestData.Sha256([.. data, .. new byte[1 << 20]]), await TargetImage.Sha256Async(server.Uri(), dir));
    }
}
