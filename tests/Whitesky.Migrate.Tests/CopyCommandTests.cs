using System.Diagnostics;
using System.Text.Json;
using Whitesky.Migrate.Tests.Support;
using Whitesky.Nbd.Tests.Peers;

namespace Whitesky.Migrate.Tests;

/// <summary><c>copy SOURCE TARGET</c> with real peers: images from qemu-img, targets from nbdkit, read back with nbdcopy.</summary>
public sealed class CopyCommandTests
{
    private const long Size = 32L << 20;

    [Fact]
    public async Task Copy_of_a_qcow2_image_into_an_export_prints_a_json_summary_and_matches_qemu_img()
    {
        using var dir = new TempDirectory();
        var image = await CreateQcow2Async(dir);
        await using var server = await ServerProcess.StartNbdkitAsync(true, "memory", "32M");

        var result = await MigrateCli.RunAsync("copy", "--json", "--verify", image, server.Uri());

        Assert.True(result.ExitCode == 0, result.ToString());
        using var summary = JsonDocument.Parse(result.StdOut);
        Assert.Equal(5L << 20, summary.RootElement.GetProperty("bytesWritten").GetInt64());
        Assert.Equal(Size - (5L << 20), summary.RootElement.GetProperty("bytesSkipped").GetInt64());
        Assert.Equal(Size, summary.RootElement.GetProperty("bytesVerified").GetInt64());
        Assert.Equal(await ReferenceSha256Async(dir, image), await TargetImage.Sha256Async(server.Uri(), dir));
    }

    [Fact]
    public async Task Copy_into_a_new_file_makes_a_sparse_raw_image_equal_to_qemu_img_convert()
    {
        using var dir = new TempDirectory();
        var image = await CreateQcow2Async(dir);
        var target = dir.File("out.raw");

        var result = await MigrateCli.RunAsync("copy", "--checkpoint", dir.File("copy.checkpoint"), image, target);

        Assert.True(result.ExitCode == 0, result.ToString());
        Assert.Equal(await ReferenceSha256Async(dir, image), await TargetImage.FileSha256Async(target));
        Assert.False(File.Exists(dir.File("copy.checkpoint")), "a finished copy removes its checkpoint");
    }

    [Fact]
    public async Task Copy_from_an_nbd_export_into_a_dirty_file_zeroes_its_holes()
    {
        using var dir = new TempDirectory();
        var raw = dir.File("source.raw");
        SparseImage.Create(raw, Size, [(0, 1 << 20), (20L << 20, 2 << 20)], seed: 3);
        await using var source = await ServerProcess.StartNbdkitAsync(true, "memory", "32M");
        await ExternalTool.RunAsync("nbdcopy", [raw, source.Uri()]);
        var target = dir.File("dirty.raw");
        SparseImage.CreateRandom(target, Size, seed: 4);

        var result = await MigrateCli.RunAsync("copy", source.Uri(), target);

        Assert.True(result.ExitCode == 0, result.ToString());
        Assert.Contains("zeroed " + (Size - (3L << 20)) + " bytes", result.StdErr, StringComparison.Ordinal);
        Assert.Equal(await TargetImage.FileSha256Async(raw), await TargetImage.FileSha256Async(target));
    }

    [Fact]
    public async Task Copy_from_standard_input_writes_the_stream_into_the_export()
    {
        using var dir = new TempDirectory();
        var raw = dir.File("source.raw");
        SparseImage.Create(raw, Size, [(0, 1 << 20), ((7L << 20) + 4096, 3 << 20), (Size - 8192, 8192)], seed: 5);
        await using var server = await ServerProcess.StartNbdkitAsync(true, "memory", "32M");
        using var process = Process.Start(MigrateCli.StartInfo(["copy", "-", server.Uri()], redirectInput: true))!;
        var stderr = process.StandardError.ReadToEndAsync();
        var stdout = process.StandardOutput.ReadToEndAsync();
        await using (var input = File.OpenRead(raw))
        {
            await input.CopyToAsync(process.StandardInput.BaseStream);
        }

        process.StandardInput.Close();
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        await process.WaitForExitAsync(timeout.Token);

        Assert.True(process.ExitCode == 0, await stderr + await stdout);
        Assert.Equal(await TargetImage.FileSha256Async(raw), await TargetImage.Sha256Async(server.Uri(), dir));
    }

    [Fact]
    public async Task Copy_of_an_image_larger_than_the_export_fails_with_exit_code_1()
    {
        using var dir = new TempDirectory();
        var image = await CreateQcow2Async(dir);
        await using var server = await ServerProcess.StartNbdkitAsync(true, "memory", "16M");

        var result = await MigrateCli.RunAsync("copy", image, server.Uri());

        Assert.Equal(1, result.ExitCode);
        Assert.Contains("larger than the target", result.StdErr, StringComparison.Ordinal);
        Assert.Contains("resize the target first", result.StdErr, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Copy_from_standard_input_refuses_a_checkpoint()
    {
        using var dir = new TempDirectory();
        await using var server = await ServerProcess.StartNbdkitAsync(true, "memory", "1M");

        var result = await MigrateCli.RunAsync("copy", "--checkpoint", dir.File("c.json"), "-", server.Uri());

        Assert.Equal(1, result.ExitCode);
        Assert.Contains("--checkpoint cannot be used with standard input", result.StdErr, StringComparison.Ordinal);
    }

    /// <summary>A 32 MiB qcow2 with 5 MiB of data (patterns) and a zero cluster run.</summary>
    private static async Task<string> CreateQcow2Async(TempDirectory dir)
    {
        var image = dir.File("source.qcow2");
        await ExternalTool.RunAsync("qemu-img", ["create", "-f", "qcow2", image, "32M"]);
        await ExternalTool.RunAsync("qemu-io", ["-f", "qcow2", "-c", "write -P 0x5a 0 2M", "-c", "write -P 0x33 9M 3M", "-c", "write -z 16M 4M", image]);
        return image;
    }

    private static async Task<string> ReferenceSha256Async(TempDirectory dir, string image)
    {
        var raw = dir.File("reference.raw");
        await ExternalTool.RunAsync("qemu-img", ["convert", "-O", "raw", image, raw]);
        return await TargetImage.FileSha256Async(raw);
    }
}
