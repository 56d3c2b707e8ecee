using System.Text.Json;
using Whitesky.Migrate.Tests.Support;
using Whitesky.Nbd.Tests.Peers;

namespace Whitesky.Migrate.Tests;

/// <summary><c>inspect</c>, <c>map</c> and <c>convert</c> on OVA, tar and compressed files, and <c>convert -</c> from a real pipe.</summary>
public sealed class ArchiveCommandsTests
{
    /// <summary>An OVA (made by tar) holding two streamOptimized VMDKs made by qemu-img, and qemu's raw content of each.</summary>
    internal static async Task<(string Ova, string Hash1, string Hash2)> MakeOvaAsync(TempDirectory dir)
    {
        var hashes = new List<string>();
        foreach (var (name, writes) in new[] { ("disk1", new[] { "write -P 0x5a 1M 3M", "write -P 0xc3 20M 64k" }), ("disk2", new[] { "write -P 0x17 5M 1M" }) })
        {
            var raw = dir.File(name + ".raw");
            await ExternalTool.RunAsync("qemu-img", ["create", "-q", "-f", "raw", raw, "32M"]);
            await ExternalTool.RunAsync("qemu-io", ["-f", "raw", .. writes.SelectMany(w => new[] { "-c", w }), raw]);
            await ExternalTool.RunAsync("qemu-img", ["convert", "-q", "-f", "raw", "-O", "vmdk", "-o", "subformat=streamOptimized", raw, dir.File(name + ".vmdk")]);
            var expected = dir.File(name + ".expected.raw");
            await ExternalTool.RunAsync("qemu-img", ["convert", "-f", "vmdk", "-O", "raw", dir.File(name + ".vmdk"), expected]);
            hashes.Add(await TestData.Sha256FileAsync(expected));
        }

        await File.WriteAllTextAsync(dir.File("vm.ovf"), "<Envelope/>\n");
        var ova = dir.File("vm.ova");
        await ExternalTool.RunAsync("tar", ["--format=ustar", "-cf", ova, "-C", dir.Path, "vm.ovf", "disk1.vmdk", "disk2.vmdk"]);
        return (ova, hashes[0], hashes[1]);
    }

    [Fact]
    public async Task Convert_from_standard_input_reads_an_ova_through_a_real_pipe()
    {
        using var dir = new TempDirectory();
        var (ova, hash1, _) = await MakeOvaAsync(dir);
        var output = dir.File("out.raw");

        var (exitCode, stderr) = await MigrateProcess.RunWithStdinAsync(ova, "convert", "-", output);
        Assert.True(exitCode == 0, stderr);
        Assert.Equal(hash1, await TestData.Sha256FileAsync(output));
        Assert.Contains("wrote 3211264 data bytes of a 33554432-byte disk", stderr, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Convert_from_standard_input_unwraps_gzip_and_zstd_and_picks_a_disk_by_name()
    {
        using var dir = new TempDirectory();
        var (ova, _, hash2) = await MakeOvaAsync(dir);
        await ExternalTool.RunAsync("gzip", ["-k", "-1", ova]);
        await ExternalTool.RunAsync("zstd", ["-q", ova, "-o", ova + ".zst"]);

        foreach (var compressed in new[] { ova + ".gz", ova + ".zst" })
        {
            var output = dir.File(Path.GetFileName(compressed) + ".out.raw");
            var (exitCode, stderr) = await MigrateProcess.RunWithStdinAsync(compressed, "convert", "-", output, "--disk", "disk2.vmdk");
            Assert.True(exitCode == 0, stderr);
            Assert.Equal(hash2, await TestData.Sha256FileAsync(output));
        }
    }

    [Fact]
    public async Task Inspect_lists_the_disks_of_an_ova_and_of_a_gzipped_tar()
    {
        using var dir = new TempDirectory();
        var (ova, _, _) = await MakeOvaAsync(dir);
        var result = await MigrateCli.RunAsync("inspect", "--json", ova);
        Assert.True(result.ExitCode == 0, result.ToString());
        using (var json = JsonDocument.Parse(result.StdOut))
        {
            Assert.Equal(["ova"], json.RootElement.GetProperty("container").EnumerateArray().Select(e => e.GetString()));
            var disks = json.RootElement.GetProperty("disks").EnumerateArray().ToList();
            Assert.Equal([ova + "/disk1.vmdk", ova + "/disk2.vmdk"], disks.Select(d => d.GetProperty("filename").GetString()));
            Assert.All(disks, d => Assert.Equal("streamOptimized", d.GetProperty("subformat").GetString()));
            Assert.Equal(3211264, disks[0].GetProperty("allocated-bytes").GetInt64());
        }

        var tarGz = dir.File("image.tar.gz");
        await ExternalTool.RunAsync("tar", ["-czf", tarGz, "-C", dir.Path, "disk1.raw"]);
        var text = await MigrateCli.RunAsync("inspect", tarGz);
        Assert.True(text.ExitCode == 0, text.ToString());
        Assert.Contains("container: gzip+tar", text.StdOut, StringComparison.Ordinal);
        Assert.Contains("image: " + tarGz + "/disk1.raw", text.StdOut, StringComparison.Ordinal);
        Assert.Contains("virtual size: 33554432 bytes", text.StdOut, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Map_of_a_disk_inside_an_ova_and_of_a_gnu_sparse_tar_has_the_data_runs()
    {
        using var dir = new TempDirectory();
        var (ova, _, _) = await MakeOvaAsync(dir);
        var inPlace = await MigrateCli.RunAsync("map", "--json", ova);
        Assert.True(inPlace.ExitCode == 0, inPlace.ToString());
        Assert.Equal([(1L << 20, 3L << 20), (20L << 20, 64L << 10)], DataRuns(inPlace.StdOut));

        var sparse = dir.File("sparse.tar.zst");
        await ExternalTool.RunAsync("tar", ["--format=oldgnu", "-S", "--zstd", "-cf", sparse, "-C", dir.Path, "disk2.raw"]);
        var streamed = await MigrateCli.RunAsync("map", "--json", sparse);
        Assert.True(streamed.ExitCode == 0, streamed.ToString());
        // qemu-img create allocates the raw file's first 4 KiB (it probes alignment there), so tar stores it too.
        Assert.Equal([(0L, 4096L), (5L << 20, 1L << 20)], DataRuns(streamed.StdOut));
    }

    [Fact]
    public async Task A_hostile_archive_on_standard_input_fails_with_one_clear_line()
    {
        using var dir = new TempDirectory();
        await File.WriteAllTextAsync(dir.File("x"), "x");
        var evil = dir.File("evil.tar");
        await ExternalTool.RunAsync("tar", ["-cf", evil, "-C", dir.Path, "--transform", "s,^x,../../x,", "-P", "x"]);
        var (exitCode, stderr) = await MigrateProcess.RunWithStdinAsync(evil, "convert", "-", dir.File("out.raw"));
        Assert.Equal(1, exitCode);
        Assert.Contains("climbs out of the archive", stderr, StringComparison.Ordinal);
        Assert.DoesNotContain("   at ", stderr, StringComparison.Ordinal);
    }

    private static List<(long Start, long Length)> DataRuns(string json)
    {
        using var map = JsonDocument.Parse(json);
        return [.. map.RootElement.EnumerateArray().Where(e => e.GetProperty("data").GetBoolean())
            .Select(e => (e.GetProperty("start").GetInt64(), e.GetProperty("length").GetInt64()))];
    }
}
