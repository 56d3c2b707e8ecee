using System.Globalization;
using System.Text.Json;
using Whitesky.DiskFormats.Tests.Vma;
using Whitesky.Migrate.Tests.Support;
using Whitesky.Nbd.Tests.Peers;

namespace Whitesky.Migrate.Tests;

/// <summary><c>inspect</c>, <c>map</c> and <c>convert</c> on Proxmox VMA archives of devices made with qemu-img/qemu-io.</summary>
public sealed class VmaCommandsTests
{
    private const long FirstSize = (4L << 20) + (20 << 10);
    private const long SecondSize = (2L << 20) + 512;
    private const string Config = "memory: 1024\nscsi0: local:100/vm-100-disk-0.qcow2\n";

    /// <summary>Two qcow2 sources, their raw content by qemu-img convert, and an archive of both with shuffled clusters.</summary>
    private static async Task<(string Archive, string FirstSource, string SecondSource, byte[] First, byte[] Second)> MakeArchiveAsync(TempDirectory dir)
    {
        var firstSource = await MakeSourceAsync(dir, "scsi0.qcow2", FirstSize, "write -P 0x5a 0 100k", "write -P 0xc3 1M 4k", "write -P 0x17 3M 68k");
        var secondSource = await MakeSourceAsync(dir, "scsi1.qcow2", SecondSize, "write -P 0x21 64k 1M", "write -z 300k 8k", $"write -P 0x42 {SecondSize - 512} 512");
        var first = await RawOfAsync(dir, firstSource);
        var second = await RawOfAsync(dir, secondSource);
        var writer = new VmaTestWriter();
        writer.AddConfig("qemu-server.conf", System.Text.Encoding.UTF8.GetBytes(Config));
        writer.AddDevice("drive-scsi0", first);
        writer.AddDevice("drive-scsi1", second);
        var archive = dir.File("vzdump-qemu-100.vma");
        await File.WriteAllBytesAsync(archive, writer.Build(writer.ShuffledClusters(6), perExtent: 17));
        return (archive, firstSource, secondSource, first, second);
    }

    private static async Task<string> MakeSourceAsync(TempDirectory dir, string name, long size, params string[] commands)
    {
        var path = dir.File(name);
        await ExternalTool.RunAsync("qemu-img", ["create", "-q", "-f", "qcow2", path, size.ToString(CultureInfo.InvariantCulture)]);
        var args = new List<string> { "-f", "qcow2" };
        foreach (var command in commands)
        {
            args.AddRange(["-c", command]);
        }

        args.Add(path);
        await ExternalTool.RunAsync("qemu-io", args);
        return path;
    }

    private static async Task<byte[]> RawOfAsync(TempDirectory dir, string source)
    {
        var raw = dir.File(Path.GetFileName(source) + ".raw");
        await ExternalTool.RunAsync("qemu-img", ["convert", "-O", "raw", source, raw]);
        return await File.ReadAllBytesAsync(raw);
    }

    private static long NonZeroBlockBytes(byte[] content)
    {
        long total = 0;
        for (var at = 0; at < content.Length; at += 4096)
        {
            var length = Math.Min(4096, content.Length - at);
            total += content.AsSpan(at, length).ContainsAnyExcept((byte)0) ? length : 0;
        }

        return total;
    }

    [Fact]
    public async Task Inspect_lists_the_devices_and_config_files_of_an_archive()
    {
        using var dir = new TempDirectory();
        var (archive, _, _, first, second) = await MakeArchiveAsync(dir);

        var text = await MigrateCli.RunAsync("inspect", archive);
        Assert.True(text.ExitCode == 0, text.ToString());
        Assert.Contains("format: vma", text.StdOut, StringComparison.Ordinal);
        Assert.Contains($"1 drive-scsi0: virtual size {FirstSize} bytes, allocated {NonZeroBlockBytes(first)} bytes", text.StdOut, StringComparison.Ordinal);
        Assert.Contains($"2 drive-scsi1: virtual size {SecondSize} bytes, allocated {NonZeroBlockBytes(second)} bytes", text.StdOut, StringComparison.Ordinal);
        Assert.Contains($"config files: qemu-server.conf ({Config.Length} bytes)", text.StdOut, StringComparison.Ordinal);

        var json = await MigrateCli.RunAsync("inspect", "--json", archive);
        Assert.True(json.ExitCode == 0, json.ToString());
        var devices = JsonDocument.Parse(json.StdOut).RootElement.GetProperty("devices").EnumerateArray()
            .Select(d => (d.GetProperty("name").GetString(), d.GetProperty("virtual-size").GetInt64())).ToList();
        Assert.Equal([("drive-scsi0", FirstSize), ("drive-scsi1", SecondSize)], devices);

        var one = await MigrateCli.RunAsync("inspect", "--device", "drive-scsi1", archive);
        Assert.True(one.ExitCode == 0, one.ToString());
        Assert.Contains(string.Create(CultureInfo.InvariantCulture, $"virtual size: {SecondSize} bytes"), one.StdOut, StringComparison.Ordinal);

        // A compressed archive shows its header (allocation would need a pass over all of it).
        await ExternalTool.RunAsync("zstd", ["-q", "-k", archive]);
        var compressed = await MigrateCli.RunAsync("inspect", archive + ".zst");
        Assert.True(compressed.ExitCode == 0, compressed.ToString());
        Assert.Contains("compression: zstd", compressed.StdOut, StringComparison.Ordinal);
        Assert.Contains($"1 drive-scsi0: virtual size {FirstSize} bytes\n", compressed.StdOut.ReplaceLineEndings("\n"), StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(null, "drive-scsi0")]
    [InlineData(null, "2")]
    [InlineData("gzip", "drive-scsi1")]
    [InlineData("zstd", "1")]
    public async Task Convert_writes_the_chosen_device_like_qemu_img_convert_of_its_source(string? compression, string device)
    {
        using var dir = new TempDirectory();
        var (archive, firstSource, secondSource, _, _) = await MakeArchiveAsync(dir);
        if (compression is not null)
        {
            await ExternalTool.RunAsync(compression, ["-q", archive]);
            archive += compression == "gzip" ? ".gz" : ".zst";
        }

        var source = device is "drive-scsi0" or "1" ? firstSource : secondSource;
        var expected = dir.File("expected.raw");
        await ExternalTool.RunAsync("qemu-img", ["convert", "-O", "raw", source, expected]);

        var ours = dir.File("ours.raw");
        var result = await MigrateCli.RunAsync("convert", "--device", device, archive, ours);
        Assert.True(result.ExitCode == 0, result.ToString());
        Assert.Equal(await TestData.Sha256FileAsync(expected), await TestData.Sha256FileAsync(ours));
        Assert.Equal(new FileInfo(expected).Length, new FileInfo(ours).Length);
    }

    [Fact]
    public async Task Convert_and_map_refuse_an_archive_of_several_devices_without_device_naming_them()
    {
        using var dir = new TempDirectory();
        var (archive, _, _, first, _) = await MakeArchiveAsync(dir);

        var convert = await MigrateCli.RunAsync("convert", archive, dir.File("out.raw"));
        Assert.Equal(1, convert.ExitCode);
        Assert.Contains("1 drive-scsi0, 2 drive-scsi1", convert.StdErr, StringComparison.Ordinal);
        Assert.Contains("--device", convert.StdErr, StringComparison.Ordinal);
        Assert.False(File.Exists(dir.File("out.raw")));

        var unknown = await MigrateCli.RunAsync("map", "--device", "drive-ide2", archive);
        Assert.Equal(1, unknown.ExitCode);
        Assert.Contains("no device 'drive-ide2'", unknown.StdErr, StringComparison.Ordinal);

        var map = await MigrateCli.RunAsync("map", "--json", "--device", "drive-scsi0", archive);
        Assert.True(map.ExitCode == 0, map.ToString());
        var data = JsonDocument.Parse(map.StdOut).RootElement.EnumerateArray()
            .Where(e => e.GetProperty("data").GetBoolean()).Sum(e => e.GetProperty("length").GetInt64());
        Assert.Equal(NonZeroBlockBytes(first), data);
    }
}
