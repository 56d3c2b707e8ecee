using System.Buffers.Binary;
using System.IO.Compression;
using System.Text;
using Whitesky.DiskFormats.Containers;
using Whitesky.DiskFormats.Tests.Vmdk;
using Whitesky.Nbd.Tests.Peers;

namespace Whitesky.DiskFormats.Tests.Containers;

/// <summary>Archives made by GNU tar, gzip, zstd and qemu-img, read through a pipe and compared with qemu's decoding.</summary>
public class SequentialArchiveTests
{
    private const string Ovf = "<?xml version=\"1.0\"?>\n<Envelope xmlns=\"http://schemas.dmtf.org/ovf/envelope/1\"><References><File ovf:href=\"disk1.vmdk\"/></References></Envelope>\n";

    internal static async Task<(string Ova, string Disk1, string Disk2)> MakeOvaAsync(TempDirectory dir)
    {
        var disk1 = await VmdkTestImages.ConvertFromPatternedRawAsync(dir, "disk1.vmdk", "streamOptimized");
        var raw2 = dir.File("disk2.src.raw");
        await ExternalTool.RunAsync("qemu-img", ["create", "-q", "-f", "raw", raw2, "5M"]);
        await ExternalTool.RunAsync("qemu-io", ["-f", "raw", "-c", "write -P 0x77 1M 300k", "-c", "write -P 0x31 4M 4k", raw2]);
        var disk2 = dir.File("disk2.vmdk");
        await ExternalTool.RunAsync("qemu-img", ["convert", "-f", "raw", "-O", "vmdk", "-o", "subformat=streamOptimized", raw2, disk2]);
        await File.WriteAllTextAsync(dir.File("vm.ovf"), Ovf);
        await File.WriteAllTextAsync(dir.File("vm.mf"), $"SHA256(disk1.vmdk)= {(await TestData.Sha256FileAsync(disk1)).ToLowerInvariant()}\n");
        var ova = dir.File("vm.ova");
        await ExternalTool.RunAsync("tar", ["--format=ustar", "-cf", ova, "-C", dir.Path, "vm.ovf", "vm.mf", "disk1.vmdk", "disk2.vmdk"]);
        return (ova, disk1, disk2);
    }

    [Fact]
    public async Task An_ova_read_from_a_pipe_gives_descriptor_manifest_and_each_disk_with_qemus_content()
    {
        using var dir = new TempDirectory();
        var (ova, disk1, disk2) = await MakeOvaAsync(dir);

        await using var pipe = PipeStream.OpenFile(ova);
        await using var archive = await SequentialArchive.OpenAsync(pipe, "vm.ova");
        Assert.True(archive.IsOva);
        Assert.Equal(["ova"], archive.Layers);
        Assert.Equal("vm.ovf", archive.DescriptorName);
        Assert.Equal(Ovf, archive.Descriptor);

        var disks = await SequentialContent.ReadAllAsync(archive);
        Assert.Equal(["vm.ova/disk1.vmdk", "vm.ova/disk2.vmdk"], disks.Select(d => d.Name));
        Assert.All(disks, d => Assert.Equal("vmdk", d.Format));
        Assert.Equal(await VmdkTestImages.QemuSha256Async(disk1, dir), disks[0].Sha256);
        Assert.Equal(await VmdkTestImages.QemuSha256Async(disk2, dir), disks[1].Sha256);
        Assert.Equal(32L << 20, disks[0].Capacity);
        Assert.Equal(5L << 20, disks[1].Capacity);
        Assert.Equal("vm.mf", archive.ManifestName);
        Assert.StartsWith("SHA256(disk1.vmdk)= ", archive.Manifest);
    }

    [Fact]
    public async Task A_zstd_compressed_ova_from_a_pipe_decodes_the_same()
    {
        using var dir = new TempDirectory();
        var (ova, disk1, _) = await MakeOvaAsync(dir);
        await ExternalTool.RunAsync("zstd", ["-q", "-3", ova, "-o", ova + ".zst"]);

        await using var pipe = PipeStream.OpenFile(ova + ".zst", seed: 3);
        await using var disk = await SequentialDiskImage.OpenAsync(pipe);
        Assert.Equal("vmdk", disk.Describe().Format);
        Assert.Equal("streamOptimized", disk.Describe().Subformat);
        Assert.Equal(await VmdkTestImages.QemuSha256Async(disk1, dir), (await SequentialContent.HashAsync(disk)).Sha256);
    }

    [Fact]
    public async Task A_gzip_compressed_disk_entry_in_an_ova_is_unwrapped_from_a_pipe()
    {
        // OVF allows compressed file references (ovf:compression="gzip"): the entry itself is gzip.
        using var dir = new TempDirectory();
        var vmdk = await VmdkTestImages.ConvertFromPatternedRawAsync(dir, "disk1.vmdk", "streamOptimized");
        await ExternalTool.RunAsync("gzip", ["-k", vmdk]);
        await File.WriteAllTextAsync(dir.File("vm.ovf"), Ovf);
        var ova = dir.File("vm.ova");
        await ExternalTool.RunAsync("tar", ["--format=ustar", "-cf", ova, "-C", dir.Path, "vm.ovf", "disk1.vmdk.gz"]);

        await using var archive = await SequentialArchive.OpenAsync(PipeStream.OpenFile(ova, seed: 17), "vm.ova");
        await foreach (var disk in archive.ReadDisksAsync())
        {
            Assert.Equal("vm.ova/disk1.vmdk.gz", disk.Name);
            Assert.Equal(await VmdkTestImages.QemuSha256Async(vmdk, dir), (await SequentialContent.HashAsync(disk)).Sha256);
            Assert.Throws<InvalidOperationException>(() => disk.ReadChunksAsync());
        }

        Assert.Throws<InvalidOperationException>(() => archive.ReadDisksAsync());
    }

    [Fact]
    public async Task An_xz_compressed_ova_from_a_pipe_decodes_the_same_and_a_truncated_one_fails_clearly()
    {
        using var dir = new TempDirectory();
        var (ova, disk1, disk2) = await MakeOvaAsync(dir);
        await ExternalTool.RunAsync("xz", ["-k", "-1", "-T1", ova]);

        await using (var archive = await SequentialArchive.OpenAsync(PipeStream.OpenFile(ova + ".xz", seed: 19), "vm.ova.xz"))
        {
            Assert.Equal(["xz", "ova"], archive.Layers);
            var disks = await SequentialContent.ReadAllAsync(archive);
            Assert.Equal([await VmdkTestImages.QemuSha256Async(disk1, dir), await VmdkTestImages.QemuSha256Async(disk2, dir)], disks.Select(d => d.Sha256));
        }

        var bytes = await File.ReadAllBytesAsync(ova + ".xz");
        await using (var archive = await SequentialArchive.OpenAsync(new PipeStream(new MemoryStream(bytes, 0, bytes.Length / 2)), "cut.ova.xz"))
        {
            var error = await Assert.ThrowsAsync<DiskFormatException>(() => SequentialContent.ReadAllAsync(archive));
            Assert.Contains("cut.ova.xz", error.Message);
        }
    }

    [Fact]
    public async Task A_bare_stream_optimized_vmdk_gzipped_from_a_pipe_decodes_to_qemus_content()
    {
        using var dir = new TempDirectory();
        var vmdk = await VmdkTestImages.ConvertFromPatternedRawAsync(dir, "disk.vmdk", "streamOptimized");
        await using (var gz = new GZipStream(File.Create(vmdk + ".gz"), CompressionLevel.Fastest))
        await using (var source = File.OpenRead(vmdk))
        {
            await source.CopyToAsync(gz);
        }

        await using var pipe = PipeStream.OpenFile(vmdk + ".gz", seed: 5);
        await using var archive = await SequentialArchive.OpenAsync(pipe, "disk.vmdk.gz");
        Assert.Equal(["gzip"], archive.Layers);
        var disks = await SequentialContent.ReadAllAsync(archive);
        Assert.Equal(await VmdkTestImages.QemuSha256Async(vmdk, dir), Assert.Single(disks).Sha256);
    }

    [Fact]
    public async Task A_vmware_laid_out_stream_with_table_directory_and_footer_markers_decodes_from_a_pipe()
    {
        using var dir = new TempDirectory();
        var vmdk = await VmdkTestImages.ConvertFromPatternedRawAsync(dir, "disk.vmdk", "streamOptimized");
        var vmware = dir.File("vmware.vmdk");
        await File.WriteAllBytesAsync(vmware, VmdkTestImages.ToVmwareStreamLayout(await File.ReadAllBytesAsync(vmdk)));

        await using var pipe = PipeStream.OpenFile(vmware, seed: 7);
        await using var disk = await SequentialDiskImage.OpenAsync(pipe);
        var (hash, data, _) = await SequentialContent.HashAsync(disk);
        Assert.Equal(await VmdkTestImages.QemuSha256Async(vmdk, dir), hash);
        Assert.True(data < disk.Capacity / 2, "only the grains qemu stored arrive as data");
    }

    [Fact]
    public async Task A_gnu_sparse_tar_from_a_pipe_yields_only_the_sparse_maps_runs()
    {
        using var dir = new TempDirectory();
        var raw = await MakeSparseRawAsync(dir, "disk.raw", runs: 9);
        var tar = dir.File("disk.tar");
        await ExternalTool.RunAsync("tar", ["--format=oldgnu", "-S", "-cf", tar, "-C", dir.Path, "disk.raw"]);

        await using var pipe = PipeStream.OpenFile(tar, seed: 11);
        await using var archive = await SequentialArchive.OpenAsync(pipe, "disk.tar");
        Assert.Equal(["tar"], archive.Layers);
        await foreach (var disk in archive.ReadDisksAsync())
        {
            Assert.Equal("raw", disk.Describe().Format);
            Assert.Equal("tar-sparse", disk.Describe().Subformat);
            Assert.Equal(new FileInfo(raw).Length, disk.Capacity);
            var (hash, data, chunks) = await SequentialContent.HashAsync(disk);
            Assert.Equal(await TestData.Sha256FileAsync(raw), hash);
            Assert.Equal(9 * 64 * 1024, data);
            Assert.True(chunks >= 9);
        }
    }

    [Fact]
    public async Task A_tar_gz_with_disk_raw_like_a_google_cloud_export_decodes_from_a_pipe()
    {
        using var dir = new TempDirectory();
        var raw = await MakeSparseRawAsync(dir, "disk.raw", runs: 3);
        var archivePath = dir.File("image.tar.gz");
        await ExternalTool.RunAsync("tar", ["-czf", archivePath, "-C", dir.Path, "disk.raw"]);

        await using var pipe = PipeStream.OpenFile(archivePath, seed: 13);
        await using var archive = await SequentialArchive.OpenAsync(pipe, "image.tar.gz");
        Assert.Equal(["gzip", "tar"], archive.Layers);
        var disk = Assert.Single(await SequentialContent.ReadAllAsync(archive));
        Assert.Equal(("image.tar.gz/disk.raw", await TestData.Sha256FileAsync(raw), new FileInfo(raw).Length, "raw"), disk);
    }

    [Fact]
    public async Task A_raw_disk_from_a_pipe_without_a_size_is_refused_with_a_clear_error()
    {
        await using var pipe = new PipeStream(new MemoryStream(new byte[4096]));
        await using var archive = await SequentialArchive.OpenAsync(pipe, "stdin");
        var error = await Assert.ThrowsAsync<DiskFormatException>(() => SequentialContent.ReadAllAsync(archive));
        Assert.Contains("declares no size", error.Message);
    }

    [Fact]
    public async Task A_gzip_bomb_inflating_beyond_what_the_vmdk_header_declares_is_refused_without_reading_it_all()
    {
        using var dir = new TempDirectory();
        var vmdk = dir.File("small.vmdk");
        var raw = dir.File("small.raw");
        await ExternalTool.RunAsync("qemu-img", ["create", "-q", "-f", "raw", raw, "1M"]);
        await ExternalTool.RunAsync("qemu-img", ["convert", "-f", "raw", "-O", "vmdk", "-o", "subformat=streamOptimized", raw, vmdk]);
        var image = await File.ReadAllBytesAsync(vmdk);
        var overhead = (int)(BinaryPrimitives.ReadUInt64LittleEndian(image.AsSpan(64)) * 512);

        // The header and descriptor of a 1 MiB disk, then 256 MiB of grain-table markers (and never an end-of-stream).
        var marker = new byte[512];
        BinaryPrimitives.WriteUInt32LittleEndian(marker.AsSpan(12), 1);
        var bomb = new MemoryStream();
        await using (var gz = new GZipStream(bomb, CompressionLevel.SmallestSize, leaveOpen: true))
        {
            gz.Write(image, 0, overhead);
            for (var i = 0; i < (256 << 20) / 512; i++)
            {
                gz.Write(marker);
            }
        }

        Assert.True(bomb.Length < 1 << 20, $"the bomb is small ({bomb.Length} bytes)");
        bomb.Position = 0;
        await using var pipe = new PipeStream(bomb);
        await using var disk = await SequentialDiskImage.OpenAsync(pipe);
        Assert.Equal(1L << 20, disk.Capacity);
        var error = await Assert.ThrowsAsync<DiskFormatException>(() => SequentialContent.HashAsync(disk));
        Assert.Contains("decompression bomb", error.Message);
        Assert.True(pipe.BytesRead < bomb.Length / 4, $"stopped early ({pipe.BytesRead} of {bomb.Length} compressed bytes read)");
    }

    [Fact]
    public async Task A_grain_placed_before_the_previous_one_is_refused_with_its_offset()
    {
        using var dir = new TempDirectory();
        var vmdk = await VmdkTestImages.ConvertFromPatternedRawAsync(dir, "disk.vmdk", "streamOptimized");
        var image = await File.ReadAllBytesAsync(vmdk);
        var first = (int)(BinaryPrimitives.ReadUInt64LittleEndian(image.AsSpan(64)) * 512);
        var second = first + (12 + BinaryPrimitives.ReadInt32LittleEndian(image.AsSpan(first + 8)) + 511) / 512 * 512;
        Assert.NotEqual(0, BinaryPrimitives.ReadInt32LittleEndian(image.AsSpan(second + 8)));
        image.AsSpan(first, 8).CopyTo(image.AsSpan(second, 8));

        await using var disk = await SequentialDiskImage.OpenAsync(new PipeStream(new MemoryStream(image)));
        var error = await Assert.ThrowsAsync<DiskFormatException>(() => SequentialContent.HashAsync(disk));
        Assert.Contains("grains must arrive in order", error.Message);
        Assert.Equal(second, error.Offset);
    }

    [Fact]
    public async Task A_stream_header_declaring_an_absurd_capacity_is_refused_before_any_grain()
    {
        using var dir = new TempDirectory();
        var vmdk = await VmdkTestImages.ConvertFromPatternedRawAsync(dir, "disk.vmdk", "streamOptimized");
        var image = await File.ReadAllBytesAsync(vmdk);
        // The largest capacity the header parser accepts (8 EiB): the stream's length bound must not overflow on it.
        BinaryPrimitives.WriteUInt64LittleEndian(image.AsSpan(12), (ulong)(long.MaxValue / 512));
        var error = await Assert.ThrowsAsync<DiskFormatException>(() => SequentialDiskImage.OpenAsync(new PipeStream(new MemoryStream(image))));
        Assert.Contains("more than the 1125899906842624 bytes a stream may declare", error.Message);
        Assert.Equal(12, error.Offset);
    }

    [Fact]
    public async Task A_truncated_ova_fails_with_a_disk_format_error_naming_the_entry()
    {
        using var dir = new TempDirectory();
        var (ova, _, _) = await MakeOvaAsync(dir);
        var bytes = await File.ReadAllBytesAsync(ova);
        await using var pipe = new PipeStream(new MemoryStream(bytes, 0, bytes.Length / 2));
        await using var archive = await SequentialArchive.OpenAsync(pipe, "vm.ova");
        var error = await Assert.ThrowsAsync<DiskFormatException>(() => SequentialContent.ReadAllAsync(archive));
        Assert.Contains("vm.ova", error.Message);
        Assert.Contains("ends", error.Message);
    }

    [Fact]
    public async Task A_truncated_or_corrupted_tar_gz_fails_with_a_disk_format_error()
    {
        using var dir = new TempDirectory();
        await MakeSparseRawAsync(dir, "disk.raw", runs: 3);
        var archivePath = dir.File("image.tar.gz");
        await ExternalTool.RunAsync("tar", ["-czf", archivePath, "-C", dir.Path, "disk.raw"]);
        var bytes = await File.ReadAllBytesAsync(archivePath);

        var truncated = bytes[..(bytes.Length * 2 / 3)];
        await using (var archive = await SequentialArchive.OpenAsync(new PipeStream(new MemoryStream(truncated)), "truncated.tar.gz"))
        {
            var error = await Assert.ThrowsAsync<DiskFormatException>(() => SequentialContent.ReadAllAsync(archive));
            Assert.Contains("truncated.tar.gz", error.Message);
        }

        var corrupted = bytes.ToArray();
        for (var i = corrupted.Length / 2; i < corrupted.Length / 2 + 64; i++)
        {
            corrupted[i] ^= 0x5a;
        }

        await using (var archive = await SequentialArchive.OpenAsync(new PipeStream(new MemoryStream(corrupted)), "corrupted.tar.gz"))
        {
            var error = await Assert.ThrowsAsync<DiskFormatException>(() => SequentialContent.ReadAllAsync(archive));
            Assert.Contains("corrupted.tar.gz: gzip stream", error.Message);
        }
    }

    [Fact]
    public async Task A_stated_raw_format_is_never_taken_for_a_wrapper()
    {
        // A raw disk whose first bytes happen to be a gzip magic, read from a stream that knows its length.
        var image = new byte[8192];
        image[0] = 0x1f;
        image[1] = 0x8b;
        image[2] = 0x08;
        image[5000] = 0x42;
        await using var disk = await SequentialDiskImage.OpenAsync(new MemoryStream(image), new DiskImageOptions { Format = "raw" });
        Assert.Equal(("raw", 8192L), (disk.Describe().Format, disk.Capacity));
        Assert.Equal(TestData.Sha256(image), (await SequentialContent.HashAsync(disk)).Sha256);
    }

    /// <summary>A raw file with <paramref name="runs"/> random 64 KiB runs spread over 64 MiB, the rest holes.</summary>
    internal static async Task<string> MakeSparseRawAsync(TempDirectory dir, string name, int runs)
    {
        var raw = dir.File(name);
        await using var file = new FileStream(raw, FileMode.CreateNew, FileAccess.Write);
        file.SetLength(64L << 20);
        for (var i = 0; i < runs; i++)
        {
            file.Position = (i * 7L + 1) << 20;
            file.Write(TestData.Random(64 * 1024, 100 + i));
        }

        return raw;
    }
}
