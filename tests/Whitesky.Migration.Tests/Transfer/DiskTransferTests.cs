using System.Globalization;
using Whitesky.DiskFormats;
using Whitesky.Migrate.Tests.Support;
using Whitesky.Migration.Sinks;
using Whitesky.Migration.Transfer;
using Whitesky.Nbd;
using Whitesky.Nbd.Tests.Peers;

namespace Whitesky.Migration.Tests.Transfer;

/// <summary>
/// The engine against real peers: images made by qemu-img, targets served by nbdkit, read back with nbdcopy and
/// compared with qemu-img's own decoding; requests counted in nbdkit's log filter.
/// </summary>
public sealed class DiskTransferTests
{
    private const string Identity = "alice";

    public static TheoryData<string, bool> FormatsAndTransports() => SourceImages.WithTransports(SourceImages.Formats.Keys);

    [Theory]
    [MemberData(nameof(FormatsAndTransports))]
    public async Task Copy_into_nbdkit_memory_reads_back_as_qemu_img_decodes_the_source(string format, bool tlsPsk)
    {
        using var dir = new TempDirectory();
        var raw = SourceImages.CreateRaw(dir);
        var image = await SourceImages.CreateAsync(dir, format, raw);
        var psk = TestData.WritePskFile(dir, Identity, TestData.Random(32, seed: 4));
        string[] tls = tlsPsk ? ["--tls=require", "--tls-psk=" + psk] : [];

        TransferSummary summary;
        await using var disk = await DiskImage.OpenAsync(image);
        await using var server = await ServerProcess.StartNbdkitAsync(false, [.. tls, "memory", disk.Capacity.ToString(CultureInfo.InvariantCulture)]);
        var uri = tlsPsk ? server.Uri(pskFile: psk, identity: Identity) : server.Uri();
        await using (var sink = await NbdBlockSink.ConnectAsync(NbdUri.Parse(uri) with { Connections = 2 }))
        {
            summary = await new DiskTransfer().CopyAsync(disk, sink);
        }

        var (reference, referenceFormat) = SourceImages.QemuReadable(format, image, raw);
        Assert.Equal(await SourceImages.ReferenceSha256Async(dir, reference, referenceFormat), await SourceImages.ExportSha256Async(dir, uri));
        Assert.True(summary.TargetIsZero);
        Assert.True(disk.Capacity >= SourceImages.Size, $"{format}: {disk.Capacity} bytes");
        Assert.Equal(disk.Capacity, summary.BytesWritten + summary.BytesSkipped);
    }

    [Fact]
    public async Task Copy_of_a_sequential_stream_reads_back_as_the_source()
    {
        using var dir = new TempDirectory();
        var image = await SourceImages.CreateAsync(dir, "vmdk-stream", SourceImages.CreateRaw(dir));
        await using var server = await ServerProcess.StartNbdkitAsync(true, "memory", "48M");
        await TargetFillAsync(dir, server.Uri());

        await using (var disk = await DiskImage.OpenAsync(image))
        await using (var stream = SequentialDisk.FromVirtualDisk(disk, chunkSize: 64 << 10))
        await using (var sink = await NbdBlockSink.ConnectAsync(NbdUri.Parse(server.Uri())))
        {
            var summary = await new DiskTransfer(new DiskTransferOptions { Verify = true }).CopyAsync(stream, sink);
            Assert.False(summary.TargetIsZero);
            Assert.Equal(SourceImages.Size, summary.BytesVerified);
        }

        Assert.Equal(await SourceImages.ReferenceSha256Async(dir, image), await SourceImages.ExportSha256Async(dir, server.Uri()));
    }

    [Fact]
    public async Task Into_a_zero_target_only_non_zero_blocks_are_written_and_no_zeroes_sent()
    {
        using var dir = new TempDirectory();
        var raw = SourceImages.CreateRaw(dir);
        var image = await SourceImages.CreateAsync(dir, "qcow2", raw);
        var log = dir.File("nbdkit.log");
        await using var server = await ServerProcess.StartNbdkitAsync(true, "--filter=log", "memory", "48M", "logfile=" + log);

        TransferSummary summary;
        await using (var disk = await DiskImage.OpenAsync(image))
        await using (var sink = await NbdBlockSink.ConnectAsync(NbdUri.Parse(server.Uri())))
        {
            summary = await new DiskTransfer().CopyAsync(disk, sink);
        }

        var requests = NbdkitLog.Parse(log);
        var expected = SourceImages.NonZeroBlockBytes(raw);
        Assert.Equal(expected, summary.BytesWritten);
        Assert.Equal(expected, requests.Where(r => r.Command == "Write").Sum(r => r.Count));
        Assert.DoesNotContain(requests, r => r.Command is "Zero" or "Trim");
        Assert.Single(requests, r => r.Command == "Flush");
        Assert.Equal(await SourceImages.ReferenceSha256Async(dir, image), await SourceImages.ExportSha256Async(dir, server.Uri()));
    }

    [Fact]
    public async Task Into_a_dirty_target_the_holes_are_zeroed_with_fast_zero()
    {
        using var dir = new TempDirectory();
        var raw = SourceImages.CreateRaw(dir);
        var image = await SourceImages.CreateAsync(dir, "vmdk-sparse", raw);
        var log = dir.File("nbdkit.log");
        await using var server = await ServerProcess.StartNbdkitAsync(true, "--filter=log", "memory", "48M", "logfile=" + log);
        await TargetFillAsync(dir, server.Uri());

        TransferSummary summary;
        await using (var disk = await DiskImage.OpenAsync(image))
        await using (var sink = await NbdBlockSink.ConnectAsync(NbdUri.Parse(server.Uri())))
        {
            summary = await new DiskTransfer().CopyAsync(disk, sink);
        }

        Assert.False(summary.TargetIsZero);
        Assert.Equal(0, summary.BytesSkipped);
        Assert.Equal(SourceImages.Size, summary.BytesWritten + summary.BytesZeroed);
        var zeroes = NbdkitLog.Parse(log).Where(r => r.Command == "Zero" && r.Connection > 1).ToList();
        Assert.Equal(summary.BytesZeroed, zeroes.Sum(r => r.Count));
        Assert.Equal(await SourceImages.ReferenceSha256Async(dir, image), await SourceImages.ExportSha256Async(dir, server.Uri()));
    }

    [Fact]
    public async Task A_1_TiB_image_with_100_MiB_of_data_sends_only_its_data()
    {
        using var dir = new TempDirectory();
        var image = dir.File("big.qcow2");
        await ExternalTool.RunAsync("qemu-img", ["create", "-f", "qcow2", image, "1T"]);
        await ExternalTool.RunAsync("qemu-io", ["-f", "qcow2", "-c", "write -P 0x5a 0 40M", "-c", "write -P 0x11 300G 30M", "-c", "write -P 0x7e 1023G 30M", image]);
        var log = dir.File("nbdkit.log");
        await using var server = await ServerProcess.StartNbdkitAsync(true, "--filter=log", "memory", "1T", "logfile=" + log);

        TransferSummary summary;
        await using (var disk = await DiskImage.OpenAsync(image))
        await using (var sink = await NbdBlockSink.ConnectAsync(NbdUri.Parse(server.Uri())))
        {
            summary = await new DiskTransfer().CopyAsync(disk, sink);
        }

        const long data = 100L << 20;
        var requests = NbdkitLog.Parse(log);
        Assert.Equal(data, summary.BytesWritten);
        Assert.Equal(data, summary.BytesRead);
        Assert.Equal((1L << 40) - data, summary.BytesSkipped);
        Assert.Equal(data, requests.Where(r => r.Command == "Write").Sum(r => r.Count));
        Assert.Equal(data / DiskTransferOptions.DefaultRequestSize, requests.Count(r => r.Command == "Write"));
        Assert.DoesNotContain(requests, r => r.Command == "Zero");
        var readBack = new byte[30 << 20];
        await using var client = await NbdClient.ConnectAsync(server.Uri());
        await client.ReadAsync(300L << 30, readBack);
        Assert.True(readBack.AsSpan().IndexOfAnyExcept((byte)0x11) < 0);
    }

    [Fact]
    public async Task A_share_of_failed_writes_is_retried_and_the_copy_is_right()
    {
        using var dir = new TempDirectory();
        var image = await SourceImages.CreateAsync(dir, "qcow2", SourceImages.CreateRaw(dir));
        var log = dir.File("nbdkit.log");
        await using var server = await ServerProcess.StartNbdkitAsync(true, "--filter=log", "--filter=error", "memory", "48M", "error-pwrite=EIO", "error-pwrite-rate=20%", "logfile=" + log);

        TransferSummary summary;
        await using (var disk = await DiskImage.OpenAsync(image))
        await using (var sink = await NbdBlockSink.ConnectAsync(NbdUri.Parse(server.Uri())))
        {
            summary = await new DiskTransfer(new DiskTransferOptions { RequestSize = 256 << 10, MaxRetries = 8, RetryDelay = TimeSpan.FromMilliseconds(1) })
                .CopyAsync(disk, sink);
        }

        Assert.True(summary.Retries > 0, "the error filter failed no write");
        Assert.Equal(summary.WriteRequests, NbdkitLog.Parse(log).Count(r => r.Command == "Write"));
        Assert.Equal(await SourceImages.ReferenceSha256Async(dir, image), await SourceImages.ExportSha256Async(dir, server.Uri()));
    }

    [Fact]
    public async Task Writes_that_always_fail_stop_with_a_clear_error_and_leave_a_valid_checkpoint()
    {
        using var dir = new TempDirectory();
        var raw = SourceImages.CreateRaw(dir);
        await using var server = await ServerProcess.StartNbdkitAsync(true, "--filter=error", "memory", "48M", "error-pwrite=EIO", "error-pwrite-rate=100%");
        var store = new FileTransferCheckpointStore(dir.File("copy.checkpoint"));

        TransferException failure;
        await using (var disk = await DiskImage.OpenAsync(raw))
        await using (var sink = await NbdBlockSink.ConnectAsync(NbdUri.Parse(server.Uri())))
        {
            failure = await Assert.ThrowsAsync<TransferException>(() => new DiskTransfer(new DiskTransferOptions
            {
                CheckpointStore = store,
                MaxRetries = 2,
                RetryDelay = TimeSpan.FromMilliseconds(1),
            }).CopyAsync(disk, sink));
        }

        Assert.Contains("failed WRITE at offset", failure.Message, StringComparison.Ordinal);
        Assert.Contains("after 2 retries", failure.Message, StringComparison.Ordinal);
        Assert.Contains("EIO", failure.Message, StringComparison.Ordinal);
        Assert.Contains("run the same transfer again to resume", failure.Message, StringComparison.Ordinal);
        Assert.True(File.Exists(store.Path));
        var text = await File.ReadAllTextAsync(store.Path);
        Assert.Contains("\"targetIsZero\":true", text, StringComparison.Ordinal);

        // Nothing was written, so the checkpoint may claim only ranges that hold no data in the source.
        await using var check = await DiskImage.OpenAsync(raw);
        await using var probe = await NbdBlockSink.ConnectAsync(NbdUri.Parse(server.Uri()));
        var checkpoint = await store.LoadAsync(DiskTransfer.CheckpointKey(check.Describe(), null, probe, null));
        Assert.NotNull(checkpoint);
        var content = await File.ReadAllBytesAsync(raw);
        foreach (var range in checkpoint.Completed)
        {
            Assert.True(content.AsSpan((int)range.Offset, (int)range.Length).IndexOfAnyExcept((byte)0) < 0, $"checkpoint claims data at {range}");
        }
    }

    [Fact]
    public async Task Verify_names_the_range_of_a_target_altered_behind_the_engines_back()
    {
        using var dir = new TempDirectory();
        var image = await SourceImages.CreateAsync(dir, "qcow2", SourceImages.CreateRaw(dir));
        await using var server = await ServerProcess.StartNbdkitAsync(true, "memory", "48M");
        await using var intruder = await NbdClient.ConnectAsync(server.Uri());
        var engine = new DiskTransfer(new DiskTransferOptions { Verify = true });
        engine.ProgressChanged += (_, p) =>
        {
            // Every write is in; before the FLUSH and the read-back, another client changes 4 KiB of data and 4 KiB of a hole.
            if (p.Phase == TransferPhase.Flushing)
            {
                intruder.WriteAsync(10L << 20, new byte[4096]).AsTask().GetAwaiter().GetResult();
                intruder.WriteAsync(40L << 20, TestData.Random(4096, seed: 12)).AsTask().GetAwaiter().GetResult();
            }
        };

        await using var disk = await DiskImage.OpenAsync(image);
        await using var sink = await NbdBlockSink.ConnectAsync(NbdUri.Parse(server.Uri()));
        var failure = await Assert.ThrowsAsync<TransferVerificationException>(() => engine.CopyAsync(disk, sink));

        Assert.Equal(2, failure.Ranges.Count);
        Assert.True(failure.Ranges[0].Offset <= 10L << 20 && failure.Ranges[0].End >= (10L << 20) + 4096, $"{failure.Ranges[0]}");
        Assert.True(failure.Ranges[1].Offset <= 40L << 20 && failure.Ranges[1].End >= (40L << 20) + 4096, $"{failure.Ranges[1]}");
        Assert.Contains("differs from the source in 2 range(s)", failure.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_bandwidth_limit_holds_the_data_rate_down()
    {
        using var dir = new TempDirectory();
        var raw = SourceImages.CreateRaw(dir);
        const long limit = 4L << 20;

        await using var disk = await DiskImage.OpenAsync(raw);
        var summary = await new DiskTransfer(new DiskTransferOptions { BandwidthLimit = limit }).CopyAsync(disk, new NullBlockSink());

        Assert.Equal(SourceImages.NonZeroBlockBytes(raw), summary.BytesWritten);
        // One second of burst is allowed; the rest cannot go faster than the limit.
        Assert.True(summary.Duration.TotalSeconds >= (summary.BytesWritten - limit) / (double)limit * 0.95,
            $"{summary.BytesWritten} bytes in {summary.Duration.TotalSeconds:0.00} s at a limit of {limit} bytes/s");
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task A_transfer_stopped_halfway_resumes_sending_only_the_missing_ranges(bool killTarget)
    {
        using var dir = new TempDirectory();
        var raw = SourceImages.CreateRaw(dir);
        var target = dir.File("target.img");
        await using (var file = File.Create(target))
        {
            file.SetLength(SourceImages.Size);
        }

        var store = new FileTransferCheckpointStore(dir.File("copy.checkpoint"));
        var options = new DiskTransferOptions
        {
            CheckpointStore = store,
            CheckpointInterval = TimeSpan.FromMilliseconds(30),
            ProgressInterval = TimeSpan.FromMilliseconds(10),
            RequestSize = 256 << 10,
            MaxRequestsInFlight = 4,
            MaxRetries = 1,
            RetryDelay = TimeSpan.FromMilliseconds(1),
            TargetIdentity = "disk-1",
            TargetIsZero = true,
        };
        var first = await ServerProcess.StartNbdkitAsync(true, "--filter=delay", "file", target, "delay-write=20ms");
        using var cancel = new CancellationTokenSource();
        var engine = new DiskTransfer(options);
        var stopped = 0;
        Task? killing = null;
        engine.ProgressChanged += (_, p) =>
        {
            if (p.BytesWritten >= 4 << 20 && Interlocked.Exchange(ref stopped, 1) == 0)
            {
                if (killTarget)
                {
                    killing = first.DisposeAsync().AsTask();
                }
                else
                {
                    cancel.Cancel();
                }
            }
        };

        string key;
        await using (var disk = await DiskImage.OpenAsync(raw))
        await using (var sink = await NbdBlockSink.ConnectAsync(NbdUri.Parse(first.Uri())))
        {
            key = DiskTransfer.CheckpointKey(disk.Describe(), null, sink, "disk-1");
            if (killTarget)
            {
                var failure = await Assert.ThrowsAsync<TransferException>(() => engine.CopyAsync(disk, sink, cancellationToken: cancel.Token));
                Assert.Contains("run the same transfer again to resume", failure.Message, StringComparison.Ordinal);
            }
            else
            {
                await Assert.ThrowsAnyAsync<OperationCanceledException>(() => engine.CopyAsync(disk, sink, cancellationToken: cancel.Token));
            }
        }

        await (killing ?? first.DisposeAsync().AsTask());
        var checkpoint = await store.LoadAsync(key);
        Assert.NotNull(checkpoint);
        Assert.True(checkpoint.CompletedBytes > 0 && checkpoint.CompletedBytes < SourceImages.Size, $"checkpoint holds {checkpoint.CompletedBytes} bytes");

        var log = dir.File("nbdkit.log");
        await using var second = await ServerProcess.StartNbdkitAsync(true, "--filter=log", "file", target, "logfile=" + log);
        TransferSummary summary;
        await using (var disk = await DiskImage.OpenAsync(raw))
        await using (var sink = await NbdBlockSink.ConnectAsync(NbdUri.Parse(second.Uri())))
        {
            summary = await new DiskTransfer(options).CopyAsync(disk, sink);
        }

        Assert.Equal(checkpoint.CompletedBytes, summary.BytesResumed);
        var missingData = SourceImages.NonZeroBlockBytes(raw, checkpoint.Completed);
        Assert.True(missingData < SourceImages.NonZeroBlockBytes(raw));
        Assert.Equal(missingData, summary.BytesWritten);
        Assert.Equal(missingData, NbdkitLog.Parse(log).Where(r => r.Command == "Write").Sum(r => r.Count));
        Assert.False(File.Exists(store.Path), "a finished transfer removes its checkpoint");
        Assert.Equal(await SourceImages.FileSha256Async(raw), await SourceImages.FileSha256Async(target));
    }

    private static async Task TargetFillAsync(TempDirectory dir, string uri)
    {
        var garbage = dir.File("garbage.raw");
        await File.WriteAllBytesAsync(garbage, TestData.Random((int)SourceImages.Size, seed: 99));
        await ExternalTool.RunAsync("nbdcopy", [garbage, uri]);
        File.Delete(garbage);
    }
}
