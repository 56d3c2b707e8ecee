using System.Diagnostics;
using System.Globalization;
using System.Text;
using System.Text.RegularExpressions;
using Whitesky.Migrate.Tests.Support;
using Whitesky.Nbd.Tests.Peers;

namespace Whitesky.Migrate.Tests;

/// <summary>
/// <c>nbd copy</c> into real nbdkit targets; every image is read back with the real nbdcopy and compared
/// by SHA-256 with the source, and the requests the server saw are checked in nbdkit's log filter.
/// </summary>
public sealed partial class NbdCopyCommandTests
{
    private const long ImageSize = 64L << 20;

    [Theory]
    [InlineData("1")]
    [InlineData("4")]
    public async Task Copy_of_a_sparse_file_makes_an_identical_image(string connections)
    {
        using var dir = new TempDirectory();
        var source = CreateSource(dir);
        await using var server = await ServerProcess.StartNbdkitAsync(true, "memory", "64M");

        var result = await MigrateCli.RunAsync("nbd", "copy", "--connections", connections, source, server.Uri());

        Assert.True(result.ExitCode == 0, result.ToString());
        Assert.Equal(await TargetImage.FileSha256Async(source), await TargetImage.Sha256Async(server.Uri(), dir));
    }

    [Fact]
    public async Task Copy_into_a_zero_target_sends_only_the_non_zero_blocks_as_writes()
    {
        using var dir = new TempDirectory();
        var source = CreateSource(dir);
        var log = dir.File("nbdkit.log");
        await using var server = await ServerProcess.StartNbdkitAsync(true, "--filter=log", "memory", "64M", "logfile=" + log);

        var result = await MigrateCli.RunAsync("nbd", "copy", source, server.Uri());

        Assert.True(result.ExitCode == 0, result.ToString());
        var expectedData = NonZeroBlockBytes(source);
        var summary = Summary(result.StdErr);
        Assert.Equal(expectedData, summary.Data);
        Assert.Equal(0, summary.Zeroed);
        Assert.Equal(ImageSize - expectedData, summary.Skipped);
        var requests = NbdkitLog.Parse(log);
        Assert.Equal(expectedData, requests.Where(r => r.Command == "Write").Sum(r => r.Count));
        Assert.DoesNotContain(requests, r => r.Command is "Zero" or "Trim" or "Flush");
        Assert.Equal(await TargetImage.FileSha256Async(source), await TargetImage.Sha256Async(server.Uri(), dir));
    }

    [Fact]
    public async Task Copy_into_a_non_zero_target_zeroes_the_holes_and_makes_an_identical_image()
    {
        using var dir = new TempDirectory();
        var source = CreateSource(dir);
        var log = dir.File("nbdkit.log");
        await using var server = await ServerProcess.StartNbdkitAsync(true, "--filter=log", "memory", "64M", "logfile=" + log);
        await TargetImage.FillWithRandomAsync(server.Uri(), ImageSize, dir);

        var result = await MigrateCli.RunAsync("nbd", "copy", "--connections", "4", source, server.Uri());

        Assert.True(result.ExitCode == 0, result.ToString());
        Assert.Equal(await TargetImage.FileSha256Async(source), await TargetImage.Sha256Async(server.Uri(), dir));
        var summary = Summary(result.StdErr);
        Assert.Equal(ImageSize - summary.Data, summary.Zeroed);
        Assert.Contains(NbdkitLog.Parse(log), r => r.Command == "Zero" && r.Fast);
    }

    [Fact]
    public async Task Copy_into_a_target_without_write_zeroes_writes_zero_buffers()
    {
        using var dir = new TempDirectory();
        var source = CreateSource(dir);
        var log = dir.File("nbdkit.log");
        await using var server = await ServerProcess.StartNbdkitAsync(true, "--filter=log", "--filter=nozero", "memory", "64M", "zeromode=none", "logfile=" + log);
        await TargetImage.FillWithRandomAsync(server.Uri(), ImageSize, dir);

        var result = await MigrateCli.RunAsync("nbd", "copy", source, server.Uri());

        Assert.True(result.ExitCode == 0, result.ToString());
        Assert.Equal(await TargetImage.FileSha256Async(source), await TargetImage.Sha256Async(server.Uri(), dir));
        var copyRequests = NbdkitLog.Parse(log).Where(r => r.Connection > 1).ToList();
        Assert.DoesNotContain(copyRequests, r => r.Command == "Zero");
        Assert.True(copyRequests.Where(r => r.Command == "Write").Sum(r => r.Count) >= ImageSize, "holes must be written as zero data");
    }

    [Fact]
    public async Task Copy_falls_back_to_plain_write_zeroes_when_the_target_refuses_fast_zero()
    {
        using var dir = new TempDirectory();
        var source = CreateSource(dir);
        var log = dir.File("nbdkit.log");
        await using var server = await ServerProcess.StartNbdkitAsync(true, "--filter=log", "--filter=nozero", "memory", "64M",
            "zeromode=plugin", "fastzeromode=slow", "logfile=" + log);
        await TargetImage.FillWithRandomAsync(server.Uri(), ImageSize, dir);

        var result = await MigrateCli.RunAsync("nbd", "copy", "--connections", "1", source, server.Uri());

        Assert.True(result.ExitCode == 0, result.ToString());
        Assert.Equal(await TargetImage.FileSha256Async(source), await TargetImage.Sha256Async(server.Uri(), dir));
        var zeroes = NbdkitLog.Parse(log).Where(r => r.Command == "Zero").ToList();
        Assert.Contains(zeroes, r => r.Fast);
        Assert.Contains(zeroes, r => !r.Fast);
    }

    [Fact]
    public async Task Copy_of_a_file_that_ends_inside_a_block_pads_the_last_block_with_zeroes()
    {
        using var dir = new TempDirectory();
        var source = dir.File("odd.raw");
        const long fileSize = (10L << 20) + 1000;
        SparseImage.Create(source, fileSize, [(0, 4096), ((10L << 20) - 3000, 4000)], seed: 3);
        await using var server = await ServerProcess.StartNbdkitAsync(true, "--filter=blocksize-policy", "memory", "64M",
            "blocksize-minimum=512", "blocksize-error-policy=error");
        await TargetImage.FillWithRandomAsync(server.Uri(), ImageSize, dir);

        var result = await MigrateCli.RunAsync("nbd", "copy", source, server.Uri());

        Assert.True(result.ExitCode == 0, result.ToString());
        var padded = dir.File("padded.raw");
        File.Copy(source, padded);
        using (var stream = new FileStream(padded, FileMode.Open))
        {
            stream.SetLength((fileSize + 511) / 512 * 512);
        }

        Assert.Equal(await TargetImage.FileSha256Async(padded), await TargetImage.Sha256Async(server.Uri(), dir, new FileInfo(padded).Length));
    }

    [Fact]
    public async Task Copy_into_a_smaller_export_fails_with_a_clear_error_and_exit_code_1()
    {
        using var dir = new TempDirectory();
        var source = CreateSource(dir);
        await using var server = await ServerProcess.StartNbdkitAsync(true, "memory", "32M");

        var result = await MigrateCli.RunAsync("nbd", "copy", source, server.Uri());

        Assert.Equal(1, result.ExitCode);
        Assert.Contains("is 67108864 bytes, larger than the target nbd+unix:", result.StdErr, StringComparison.Ordinal);
        Assert.Contains("of 33554432 bytes; resize the target first", result.StdErr, StringComparison.Ordinal);
        Assert.DoesNotContain("   at ", result.StdErr, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Copy_with_a_request_size_that_is_not_a_block_multiple_fails_with_exit_code_1()
    {
        using var dir = new TempDirectory();
        var source = CreateSource(dir);
        await using var server = await ServerProcess.StartNbdkitAsync(true, "--filter=blocksize-policy", "memory", "64M", "blocksize-minimum=65536", "blocksize-preferred=65536");

        var notBlocks = await MigrateCli.RunAsync("nbd", "copy", "--request-size", "6000", source, server.Uri());
        var notExportBlocks = await MigrateCli.RunAsync("nbd", "copy", "--request-size", "12K", source, server.Uri());

        Assert.Equal(1, notBlocks.ExitCode);
        Assert.Contains("--request-size 6000 must be a multiple of 4096 bytes", notBlocks.StdErr, StringComparison.Ordinal);
        Assert.Equal(1, notExportBlocks.ExitCode);
        Assert.Contains("smaller than the target nbd+unix:", notExportBlocks.StdErr, StringComparison.Ordinal);
        Assert.Contains("minimum block size of 65536 bytes", notExportBlocks.StdErr, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Copy_stops_at_a_write_the_server_fails_and_reports_it_with_exit_code_1()
    {
        using var dir = new TempDirectory();
        var source = CreateSource(dir);
        await using var server = await ServerProcess.StartNbdkitAsync(true, "--filter=error", "memory", "64M", "error-pwrite=ENOSPC", "error-pwrite-rate=100%");

        var result = await MigrateCli.RunAsync("nbd", "copy", source, server.Uri());

        Assert.Equal(1, result.ExitCode);
        Assert.Contains("WRITE", result.StdErr, StringComparison.Ordinal);
        Assert.Contains("ENOSPC", result.StdErr, StringComparison.Ordinal);
        Assert.DoesNotContain("copied", result.StdErr, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Copy_of_a_missing_file_fails_with_exit_code_1()
    {
        using var dir = new TempDirectory();
        await using var server = await ServerProcess.StartNbdkitAsync(true, "memory", "1M");

        var result = await MigrateCli.RunAsync("nbd", "copy", dir.File("missing.raw"), server.Uri());

        Assert.Equal(1, result.ExitCode);
        Assert.Contains("missing.raw does not exist", result.StdErr, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Copy_with_flush_sends_one_flush_after_the_last_write()
    {
        using var dir = new TempDirectory();
        var source = CreateSource(dir);
        var log = dir.File("nbdkit.log");
        await using var server = await ServerProcess.StartNbdkitAsync(true, "--filter=log", "memory", "64M", "logfile=" + log);

        var result = await MigrateCli.RunAsync("nbd", "copy", "--flush", "--progress", source, server.Uri());

        Assert.True(result.ExitCode == 0, result.ToString());
        var replies = NbdkitLog.ParseReplies(log);
        var flushes = replies.Where(r => r.Command == "Flush").ToList();
        Assert.Single(flushes);
        Assert.Equal("Flush", replies.Last(r => r.Command is "Write" or "Flush").Command);
        Assert.Contains("progress: 100.0%", result.StdErr, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Copy_cancelled_stops_promptly_with_exit_code_130()
    {
        using var dir = new TempDirectory();
        var source = dir.File("full.raw");
        SparseImage.Create(source, ImageSize, [(0, (int)ImageSize)], seed: 5);
        await using var server = await ServerProcess.StartNbdkitAsync(true, "--filter=delay", "memory", "64M", "delay-write=200ms");
        using var cancel = new CancellationTokenSource(TimeSpan.FromMilliseconds(500));
        var clock = Stopwatch.StartNew();

        var result = await MigrateCli.RunAsync(["nbd", "copy", "--connections", "1", "--requests", "2", "--request-size", "256K", source, server.Uri()], cancel.Token);

        Assert.Equal(130, result.ExitCode);
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(5), $"took {clock.Elapsed}");
        Assert.Contains("cancelled", result.StdErr, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Copy_interrupted_by_sigint_exits_promptly_with_code_130()
    {
        using var dir = new TempDirectory();
        var source = dir.File("full.raw");
        SparseImage.Create(source, ImageSize, [(0, (int)ImageSize)], seed: 6);
        await using var server = await ServerProcess.StartNbdkitAsync(true, "--filter=delay", "memory", "64M", "delay-write=200ms");
        var info = MigrateCli.StartInfo(["nbd", "copy", "--progress", "--connections", "1", "--requests", "2", "--request-size", "256K", source, server.Uri()]);

        var stderr = new StringBuilder();
        var copying = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        using var process = new Process { StartInfo = info };
        process.ErrorDataReceived += (_, e) =>
        {
            lock (stderr)
            {
                stderr.AppendLine(e.Data);
            }

            if (e.Data?.StartsWith("progress:", StringComparison.Ordinal) == true)
            {
                copying.TrySetResult();
            }
        };
        process.Start();
        process.BeginErrorReadLine();
        var stdout = process.StandardOutput.ReadToEndAsync();

        // Signal once the copy is under way (its first progress report), not merely once the process exists.
        await copying.Task.WaitAsync(TimeSpan.FromSeconds(30));
        await MigrateCli.InterruptAsync(process);

        var clock = Stopwatch.StartNew();
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(10));
        await process.WaitForExitAsync(timeout.Token);

        Assert.True(process.ExitCode == 130, $"exit {process.ExitCode}: {stderr}{await stdout}");
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(5), $"took {clock.Elapsed} to stop");
        Assert.Contains("cancelled", stderr.ToString(), StringComparison.Ordinal);
    }

    /// <summary>A 64 MiB sparse image: random runs at aligned and unaligned offsets, allocated zeroes, data up to the last byte.</summary>
    private static string CreateSource(TempDirectory dir)
    {
        var path = dir.File("source.raw");
        SparseImage.Create(path, ImageSize,
        [
            (0, 1 << 20),
            ((3L << 20) + 12345, 700_000),
            (10L << 20, 3 << 20),
            (30L << 20, (4 << 20) + 4096),
            (63L << 20, 1 << 20),
        ], seed: 1);
        SparseImage.WriteAllocatedZeroes(path, 20L << 20, 256 << 10);
        SparseImage.WriteAllocatedZeroes(path, (11L << 20) + 8192, 64 << 10);
        return path;
    }

    /// <summary>Bytes of the file in 4 KiB blocks that hold a non-zero byte: what a copy into a zero target must write.</summary>
    private static long NonZeroBlockBytes(string path)
    {
        var data = File.ReadAllBytes(path);
        long total = 0;
        for (var offset = 0; offset < data.Length; offset += 4096)
        {
            var block = data.AsSpan(offset, Math.Min(4096, data.Length - offset));
            if (block.IndexOfAnyExcept((byte)0) >= 0)
            {
                total += block.Length;
            }
        }

        return total;
    }

    private static (long Data, long Zeroed, long Skipped) Summary(string stderr)
    {
        var match = SummaryPattern().Match(stderr);
        Assert.True(match.Success, "no summary line in: " + stderr);
        return (long.Parse(match.Groups[1].Value, CultureInfo.InvariantCulture),
            long.Parse(match.Groups[2].Value, CultureInfo.InvariantCulture),
            long.Parse(match.Groups[3].Value, CultureInfo.InvariantCulture));
    }

    [GeneratedRegex(@"copied (\d+) bytes of data .*, zeroed (\d+) bytes, skipped (\d+) zero bytes in [0-9.]+ s \([0-9.]+ MiB/s\)")]
    private static partial Regex SummaryPattern();
}
