using System.Text.Json;
using Whitesky.Migrate.Tests.Support;
using Whitesky.Nbd.Tests.Peers;

namespace Whitesky.Migrate.Tests;

/// <summary><c>inspect</c>, <c>map</c> and <c>convert</c> on images made by qemu-img, checked against qemu-img.</summary>
public sealed class ImageCommandsTests
{
    /// <summary>An image of <paramref name="format"/> with data, a zeroed range and holes, written through qemu-io or converted from a patterned raw.</summary>
    private static async Task<string> MakeImageAsync(TempDirectory dir, string format, params string[] createOptions)
    {
        var raw = dir.File("pattern.raw");
        await ExternalTool.RunAsync("qemu-img", ["create", "-q", "-f", "raw", raw, "32M"]);
        await ExternalTool.RunAsync("qemu-io", ["-f", "raw", "-c", "write -P 0x5a 1M 3M", "-c", "write -P 0xc3 20M 64k", raw]);
        if (format == "raw")
        {
            return raw;
        }

        var image = dir.File("disk." + format);
        var args = new List<string> { "convert", "-q", "-f", "raw", "-O", format };
        if (createOptions.Length > 0)
        {
            args.AddRange(["-o", string.Join(',', createOptions)]);
        }

        args.AddRange([raw, image]);
        await ExternalTool.RunAsync("qemu-img", args);
        return image;
    }

    [Theory]
    [InlineData("label: gpt\nstart=2048, size=20480, type=C12A7328-F81F-11D2-BA4B-00A0C93EC93B\nstart=22528, type=0FC63DAF-8483-4772-8E79-3D69D8477DE4\n", "gpt", "uefi")]
    [InlineData("label: dos\nstart=2048, type=83, bootable\n", "mbr", "bios")]
    [InlineData(null, "none", "unknown")]
    public async Task Inspect_tells_the_boot_mode_from_the_partition_table_sfdisk_wrote(string? table, string scheme, string bootMode)
    {
        using var dir = new TempDirectory();
        var raw = dir.File("guest.raw");
        await ExternalTool.RunAsync("qemu-img", ["create", "-q", "-f", "raw", raw, "64M"]);
        if (table is not null)
        {
            var script = dir.File("table.sfdisk");
            await File.WriteAllTextAsync(script, table);
            await ExternalTool.RunAsync("bash", ["-c", $"sfdisk -q '{raw}' < '{script}'"]);
        }

        var image = dir.File("guest.qcow2");
        await ExternalTool.RunAsync("qemu-img", ["convert", "-q", "-f", "raw", "-O", "qcow2", raw, image]);

        var text = await MigrateCli.RunAsync("inspect", image);
        Assert.True(text.ExitCode == 0, text.ToString());
        Assert.Contains($"partition table: {scheme}, boot mode: {bootMode}", text.StdOut, StringComparison.Ordinal);

        var json = await MigrateCli.RunAsync("inspect", image, "--json");
        using var document = JsonDocument.Parse(json.StdOut);
        Assert.Equal(bootMode, document.RootElement.GetProperty("boot-mode").GetString());
        Assert.Equal(scheme, document.RootElement.GetProperty("partition-table").GetString());
    }

    [Theory]
    [InlineData("raw")]
    [InlineData("qcow2")]
    [InlineData("vmdk", "subformat=monolithicSparse")]
    [InlineData("vmdk", "subformat=streamOptimized")]
    public async Task Convert_writes_what_qemu_img_convert_writes(string format, params string[] options)
    {
        using var dir = new TempDirectory();
        var image = await MakeImageAsync(dir, format, options);
        var expected = dir.File("expected.raw");
        await ExternalTool.RunAsync("qemu-img", ["convert", "-f", format, "-O", "raw", image, expected]);

        var ours = dir.File("ours.raw");
        var result = await MigrateCli.RunAsync("convert", image, ours);
        Assert.True(result.ExitCode == 0, result.ToString());
        Assert.Equal(await TestData.Sha256FileAsync(expected), await TestData.Sha256FileAsync(ours));
        Assert.Contains("wrote 3211264 data bytes", result.StdErr, StringComparison.Ordinal);

        // The output is sparse: only the written data is allocated (well under the 32 MiB the file spans).
        var blocks = long.Parse((await ExternalTool.RunAsync("stat", ["-c", "%b", ours])).Trim(), System.Globalization.CultureInfo.InvariantCulture);
        Assert.True(blocks * 512 < 8L << 20, $"{blocks} blocks allocated");

        var again = await MigrateCli.RunAsync("convert", image, ours);
        Assert.Equal(1, again.ExitCode);
        Assert.Contains("never overwrites", again.StdErr, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("qcow2")]
    [InlineData("vmdk", "subformat=monolithicSparse")]
    public async Task Map_json_has_the_data_runs_of_qemu_img_map(string format, params string[] options)
    {
        using var dir = new TempDirectory();
        var image = await MakeImageAsync(dir, format, options);

        var result = await MigrateCli.RunAsync("map", "--json", image);
        Assert.True(result.ExitCode == 0, result.ToString());
        var ours = DataRuns(JsonDocument.Parse(result.StdOut));
        var theirs = DataRuns(JsonDocument.Parse(await ExternalTool.RunAsync("qemu-img", ["map", "--output=json", "-f", format, image])));
        Assert.Equal(theirs, ours);
        Assert.Contains((1L << 20, 3L << 20), ours);
    }

    private static List<(long Start, long Length)> DataRuns(JsonDocument map)
    {
        var runs = new List<(long Start, long Length)>();
        foreach (var e in map.RootElement.EnumerateArray().Where(e => e.GetProperty("data").GetBoolean()))
        {
            var (start, length) = (e.GetProperty("start").GetInt64(), e.GetProperty("length").GetInt64());
            if (runs.Count > 0 && runs[^1].Start + runs[^1].Length == start)
            {
                runs[^1] = (runs[^1].Start, runs[^1].Length + length);
            }
            else
            {
                runs.Add((start, length));
            }
        }

        return runs;
    }

    [Fact]
    public async Task Inspect_json_agrees_with_qemu_img_info_and_follows_the_backing_chain()
    {
        using var dir = new TempDirectory();
        var baseImage = await MakeImageAsync(dir, "qcow2");
        var overlay = dir.File("overlay.qcow2");
        await ExternalTool.RunAsync("qemu-img", ["create", "-q", "-f", "qcow2", "-b", Path.GetFileName(baseImage), "-F", "qcow2", overlay]);

        var result = await MigrateCli.RunAsync("inspect", "--json", overlay);
        Assert.True(result.ExitCode == 0, result.ToString());
        using var ours = JsonDocument.Parse(result.StdOut);
        using var theirs = JsonDocument.Parse(await ExternalTool.RunAsync("qemu-img", ["info", "--output=json", overlay]));
        Assert.Equal("qcow2", ours.RootElement.GetProperty("format").GetString());
        Assert.Equal(theirs.RootElement.GetProperty("virtual-size").GetInt64(), ours.RootElement.GetProperty("virtual-size").GetInt64());
        Assert.Equal(theirs.RootElement.GetProperty("cluster-size").GetInt32(), ours.RootElement.GetProperty("cluster-size").GetInt32());
        Assert.Equal("qcow2", ours.RootElement.GetProperty("backing").GetProperty("format").GetString());
        Assert.Equal(3211264, ours.RootElement.GetProperty("allocated-bytes").GetInt64());
    }

    [Fact]
    public async Task A_missing_or_malformed_image_fails_with_one_clear_line()
    {
        using var dir = new TempDirectory();
        var missing = await MigrateCli.RunAsync("inspect", dir.File("nope.qcow2"));
        Assert.Equal(1, missing.ExitCode);
        Assert.Contains("does not exist", missing.StdErr, StringComparison.Ordinal);

        var broken = dir.File("broken.qcow2");
        var header = new byte[512];
        new byte[] { 0x51, 0x46, 0x49, 0xFB }.CopyTo(header, 0); // "QFI\xfb"
        header[7] = 3; // version 3, then nonsense
        await File.WriteAllBytesAsync(broken, header);
        var bad = await MigrateCli.RunAsync("map", broken);
        Assert.Equal(1, bad.ExitCode);
        Assert.Contains("broken.qcow2: header at offset 20: cluster_bits 0", bad.StdErr, StringComparison.Ordinal);
        Assert.DoesNotContain("   at ", bad.StdErr, StringComparison.Ordinal);
    }
}
