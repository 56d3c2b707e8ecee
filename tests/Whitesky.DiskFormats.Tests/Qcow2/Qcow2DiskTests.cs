using Whitesky.Nbd.Tests.Peers;
using static Whitesky.DiskFormats.Tests.Qcow2.Qcow2Peers;

namespace Whitesky.DiskFormats.Tests.Qcow2;

public class Qcow2DiskTests
{
    [Theory]
    [InlineData(512, "1.1", false, 64L << 20)]
    [InlineData(512, "0.10", false, (64L << 20) + 1536)]
    [InlineData(65536, "0.10", false, 64L << 20)]
    [InlineData(65536, "1.1", false, (64L << 20) + 512)]
    [InlineData(65536, "1.1", true, 64L << 20)]
    [InlineData(2 << 20, "1.1", false, 64L << 20)]
    [InlineData(2 << 20, "1.1", true, (64L << 20) + 4096)]
    public async Task Uncompressed_images_read_and_map_like_qemu(int clusterSize, string compat, bool extendedL2, long size)
    {
        using var dir = new TempDirectory();
        var path = dir.File("disk.qcow2");
        var options = $"cluster_size={clusterSize},compat={compat}" + (extendedL2 ? ",extended_l2=on" : "");
        await ExternalTool.RunAsync("qemu-img", ["create", "-q", "-f", "qcow2", "-o", options, path, size.ToString(System.Globalization.CultureInfo.InvariantCulture)]);
        await QemuIoAsync(path,
            "write -P 0x11 0 3M",
            "write -P 0x22 5M 4k",
            "write -P 0x23 5184k 512",
            "write -P 0x33 8M 2M",
            "write -z 8M 1M",
            "write -z 12M 64k",
            "write -P 0x44 20M 1M",
            "discard 20M 512k",
            "write -P 0x55 40M 192k",
            "write -P 0x66 63M 1M");

        await using var disk = await DiskImage.OpenAsync(path);
        var info = disk.Describe();
        Assert.Equal("qcow2", info.Format);
        Assert.Equal(compat == "0.10" ? "v2" : "v3", info.Subformat);
        Assert.Equal(clusterSize, info.ClusterSize);
        Assert.Equal(extendedL2, info.Features.Contains("extended_l2"));
        Assert.Equal(size, disk.Capacity);

        await AssertReadsLikeQemuAsync(dir, path, disk);
        var kinds = await OurKindsAsync(disk);
        Assert.Contains(kinds, k => k.Kind == DiskExtentKind.Data);
        Assert.Contains(kinds, k => k.Kind == DiskExtentKind.Unallocated);
        if (compat == "1.1")
        {
            Assert.Contains(kinds, k => k.Kind == DiskExtentKind.Zero);
        }
    }

    [Theory]
    [InlineData("zlib", 65536)]
    [InlineData("zlib", 512)]
    [InlineData("zlib", 2 << 20)]
    [InlineData("zstd", 65536)]
    [InlineData("zstd", 4096)]
    public async Task Compressed_images_read_and_map_like_qemu(string compression, int clusterSize)
    {
        using var dir = new TempDirectory();
        var raw = dir.File("source.raw");
        var content = MixedContent(24 << 20, 7);
        await File.WriteAllBytesAsync(raw, content);
        var path = dir.File("disk.qcow2");
        await ExternalTool.RunAsync("qemu-img", ["convert", "-q", "-c", "-f", "raw", "-O", "qcow2", "-o", $"compression_type={compression},cluster_size={clusterSize}", raw, path]);

        await using var disk = await DiskImage.OpenAsync(path);
        Assert.Equal(compression, disk.Describe().Compression);
        await AssertReadsLikeQemuAsync(dir, path, disk);
        var whole = new byte[disk.Capacity];
        await disk.ReadAsync(0, whole);
        Assert.Equal(Hash(content), Hash(whole));

        // Small reads inside compressed clusters, out of order.
        var random = new Random(3);
        for (var i = 0; i < 200; i++)
        {
            var at = random.NextInt64(0, disk.Capacity - 5000);
            var piece = new byte[random.Next(1, 5000)];
            await disk.ReadAsync(at, piece);
            Assert.True(piece.AsSpan().SequenceEqual(content.AsSpan((int)at, piece.Length)), $"read at {at} of {piece.Length}");
        }
    }

    [Theory]
    [InlineData("on")]
    [InlineData("off")]
    public async Task An_external_data_file_is_read_through_the_resolver(string dataFileRaw)
    {
        using var dir = new TempDirectory();
        var path = dir.File("disk.qcow2");
        var data = dir.File("disk.data");
        await ExternalTool.RunAsync("qemu-img", ["create", "-q", "-f", "qcow2", "-o", $"data_file={data},data_file_raw={dataFileRaw}", path, "32M"]);
        await QemuIoAsync(path, "write -P 0x5a 1M 2M", "write -P 0x6b 17M 64k", "write -z 1536k 64k");

        // qemu records the name as given (absolute here); the default resolver refuses it.
        var refused = await Assert.ThrowsAsync<DiskFormatException>(() => DiskImage.OpenAsync(path));
        Assert.Equal("data file name", refused.Structure);
        Assert.Contains("absolute", refused.Message, StringComparison.Ordinal);

        await using var disk = await DiskImage.OpenAsync(path, new DiskImageOptions { Resolver = new InsideDirectoryResolver(dir.Path) });
        Assert.Contains("data_file", disk.Describe().Features);
        Assert.Equal(dataFileRaw == "on", disk.Describe().Features.Contains("data_file_raw"));
        await AssertReadsLikeQemuAsync(dir, path, disk);
    }

    [Fact]
    public async Task A_backing_chain_of_three_reads_and_maps_like_qemu()
    {
        using var dir = new TempDirectory();
        var basePath = dir.File("base.qcow2");
        var mid = dir.File("mid.qcow2");
        var top = dir.File("top.qcow2");
        await ExternalTool.RunAsync("qemu-img", ["create", "-q", "-f", "qcow2", "-o", "cluster_size=65536", basePath, "32M"]);
        await QemuIoAsync(basePath, "write -P 0x01 0 8M", "write -P 0x02 20M 4M");
        await ExternalTool.RunAsync("qemu-img", ["create", "-q", "-f", "qcow2", "-o", "cluster_size=4096,compat=0.10", "-b", "base.qcow2", "-F", "qcow2", mid, "48M"]);
        await QemuIoAsync(mid, "write -P 0x03 1M 1M", "write -z 4M 512k", "write -P 0x04 30M 4M");
        await ExternalTool.RunAsync("qemu-img", ["create", "-q", "-f", "qcow2", "-o", "cluster_size=2097152,extended_l2=on", "-b", "mid.qcow2", "-F", "qcow2", top, "64M"]);
        await QemuIoAsync(top, "write -P 0x05 1536k 64k", "write -z 20M 1M", "write -P 0x06 50M 2M", "write -P 0x07 6M 4k");

        await using var disk = await DiskImage.OpenAsync(top);
        var info = disk.Describe();
        Assert.Equal("v2", info.Parent?.Subformat);
        Assert.Equal(32L << 20, info.Parent?.Parent?.VirtualSize);
        Assert.NotNull(disk.Parent?.Parent);
        await AssertReadsLikeQemuAsync(dir, top, disk);
    }

    [Fact]
    public async Task A_raw_backing_file_named_without_a_format_is_probed()
    {
        using var dir = new TempDirectory();
        var basePath = dir.File("base.img");
        await File.WriteAllBytesAsync(basePath, TestData.Random(4 << 20, 11));
        var top = dir.File("top.qcow2");
        await ExternalTool.RunAsync("qemu-img", ["create", "-q", "-f", "qcow2", "-b", "base.img", "-F", "raw", top, "8M"]);
        await QemuIoAsync(top, "write -P 0x77 1M 64k");

        await using var disk = await DiskImage.OpenAsync(top);
        Assert.Equal("raw", disk.Describe().Parent?.Format);
        var (hash, _) = await QemuContentAsync(dir, top);
        var whole = new byte[disk.Capacity];
        await disk.ReadAsync(0, whole);
        Assert.Equal(hash, TestData.Sha256(whole));
    }

    [Fact]
    public async Task Qcow2_is_probed_from_its_magic_and_a_raw_file_named_qcow2_is_refused()
    {
        using var dir = new TempDirectory();
        var path = dir.File("disk.qcow2");
        await ExternalTool.RunAsync("qemu-img", ["create", "-q", "-f", "qcow2", path, "1G"]);
        await using (var source = FileSource.Open(path))
        {
            Assert.Equal("qcow2", await DiskImage.ProbeAsync(source));
        }

        await using (var disk = await DiskImage.OpenAsync(path))
        {
            Assert.Equal(1L << 30, disk.Capacity);
            var extents = new List<DiskExtent>();
            await foreach (var e in disk.GetExtentsAsync(0, disk.Capacity))
            {
                extents.Add(e);
            }

            Assert.Equal([new DiskExtent(0, 1L << 30, DiskExtentKind.Unallocated)], extents);
        }

        var raw = dir.File("disk.raw");
        await File.WriteAllBytesAsync(raw, new byte[1 << 20]);
        var refusal = await Assert.ThrowsAsync<DiskFormatException>(() => DiskImage.OpenAsync(raw, new DiskImageOptions { Format = "qcow2" }));
        Assert.Equal("header", refusal.Structure);
        Assert.Equal(0, refusal.Offset);
    }

    /// <summary>Trusts names (absolute or not) whose file lies in one directory.</summary>
    private sealed class InsideDirectoryResolver(string directory) : IDiskImageResolver
    {
        public ValueTask<IRandomAccessSource> OpenAsync(string referrer, string reference, CancellationToken cancellationToken = default)
        {
            var full = Path.GetFullPath(Path.Combine(directory, reference));
            if (Path.GetDirectoryName(full) != Path.GetFullPath(directory))
            {
                throw new DiskFormatException($"{referrer}: '{reference}' is outside {directory}");
            }

            return ValueTask.FromResult<IRandomAccessSource>(FileSource.Open(full));
        }
    }
}
