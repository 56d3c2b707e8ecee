using System.Security.Cryptography;
using Whitesky.DiskFormats;
using Whitesky.Migration.Replication;
using Whitesky.Migration.Sinks;
using Whitesky.Migration.Transfer;
using Whitesky.Nbd;
using Whitesky.Nbd.Tests.Peers;

namespace Whitesky.Migration.Tests.Replication;

/// <summary>ReplicationSession with each change source against real writers (qemu-io, qemu-nbd, a file writer), into raw files.</summary>
public class ReplicationSessionTests
{
    private const long MiB = 1L << 20;
    private const long KiB = 1L << 10;

    private static Task QemuIoAsync(string format, string path, params string[] commands) =>
        ExternalTool.RunAsync("qemu-io", ["-f", format, .. commands.SelectMany(c => new[] { "-c", c }), path]);

    private static async Task<string> RawHashAsync(string image, string format, TempDirectory dir)
    {
        var raw = dir.File(Path.GetFileName(image) + "." + Guid.NewGuid().ToString("N") + ".raw");
        await ExternalTool.RunAsync("qemu-img", ["convert", "-U", "-f", format, "-O", "raw", image, raw]);
        return await TestData.Sha256FileAsync(raw);
    }

    private static async Task<string> ExportHashAsync(NbdClient client)
    {
        using var sha = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        var buffer = new byte[4 * MiB];
        for (var offset = 0L; offset < client.Export.Size; offset += buffer.Length)
        {
            var length = (int)Math.Min(buffer.Length, client.Export.Size - offset);
            await client.ReadAsync(offset, buffer.AsMemory(0, length));
            sha.AppendData(buffer, 0, length);
        }

        return Convert.ToHexString(sha.GetHashAndReset());
    }

    [Fact]
    public async Task A_range_copy_zeroes_inside_the_ranges_and_leaves_the_rest_of_the_target_alone()
    {
        using var dir = new TempDirectory();
        var source = dir.File("source.raw");
        var target = dir.File("target.raw");
        await ExternalTool.RunAsync("qemu-img", ["create", "-q", "-f", "raw", source, "8M"]);
        await QemuIoAsync("raw", source, "write -P 0x11 1M 64k");
        await ExternalTool.RunAsync("qemu-img", ["create", "-q", "-f", "raw", target, "8M"]);
        await QemuIoAsync("raw", target, "write -P 0xaa 0 8M");

        await using (var disk = await DiskImage.OpenAsync(source))
        await using (var sink = RawFileSink.Open(target, 8 * MiB))
        {
            var summary = await new DiskTransfer().CopyRangesAsync(disk, [new TransferRange(MiB, 128 * KiB), new TransferRange(4 * MiB, 4096)], sink);
            Assert.Equal(64 * KiB, summary.BytesWritten);
            Assert.Equal((64 * KiB) + 4096, summary.BytesZeroed);
            Assert.Equal((128 * KiB) + 4096, summary.TotalBytes);
        }

        var bytes = await File.ReadAllBytesAsync(target);
        Assert.All(bytes.AsSpan(0, (int)MiB).ToArray().Distinct(), b => Assert.Equal(0xaa, b));
        Assert.All(bytes.AsSpan((int)MiB, 64 * 1024).ToArray().Distinct(), b => Assert.Equal(0x11, b));
        Assert.All(bytes.AsSpan((int)(MiB + (64 * KiB)), 64 * 1024).ToArray().Distinct(), b => Assert.Equal(0, b));
        Assert.All(bytes.AsSpan((int)(MiB + (128 * KiB)), (int)(3 * MiB - (128 * KiB))).ToArray().Distinct(), b => Assert.Equal(0xaa, b));
        Assert.All(bytes.AsSpan((int)(4 * MiB), 4096).ToArray().Distinct(), b => Assert.Equal(0, b));
        Assert.All(bytes.AsSpan((int)(4 * MiB) + 4096).ToArray().Distinct(), b => Assert.Equal(0xaa, b));

        await using var again = await DiskImage.OpenAsync(source);
        await using var sink2 = RawFileSink.Open(target, 8 * MiB);
        await Assert.ThrowsAsync<ArgumentException>(() => new DiskTransfer().CopyRangesAsync(again, [new TransferRange(2 * MiB, 10), new TransferRange(MiB, 10)], sink2));
    }

    [Fact]
    public async Task A_file_written_while_hashed_converges_and_the_final_sync_leaves_the_target_equal()
    {
        using var dir = new TempDirectory();
        var path = dir.File("live.raw");
        var target = dir.File("target.raw");
        await ExternalTool.RunAsync("qemu-img", ["create", "-q", "-f", "raw", path, "32M"]);
        await QemuIoAsync("raw", path, "write -P 0x11 0 8M");

        // The writer changes the file while each pass copies (after its scan): pass N writes 4 KiB into block 200 + N * 7 (where the file held zeroes),
        // and the pass after finds exactly that block.
        await using var writer = new FileStream(path, FileMode.Open, FileAccess.Write, FileShare.ReadWrite);
        void Write(int pass)
        {
            writer.Position = (200 + (pass * 7)) * 64 * 1024;
            writer.Write(TestData.Random(4096, pass + 10));
            writer.Flush();
        }

        await using var disk = await DiskImage.OpenAsync(path);
        await using var source = new BlockHashChangeSource(disk, blockSize: 64 * 1024);
        await using var sink = RawFileSink.Create(target, 32 * MiB);
        var progress = new List<ReplicationProgress>();
        var stopped = false;
        var session = await ReplicationSession.OpenAsync(source, sink, new ReplicationOptions { MaxPasses = 3, UntilDeltaBytes = 0 });
        session.ProgressChanged += (_, p) =>
        {
            progress.Add(p);
            if (p.Stage == ReplicationStage.Copying && p.Transfer is null && !stopped)
            {
                Write(p.Pass);
            }
        };

        Assert.Equal(ReplicationStopReason.MaxPasses, await session.ReplicateAsync());
        Assert.Equal([8 * MiB, 4096, 4096, 4096], session.State.Passes.Select(p => p.BytesSent));

        // The source stops (the last write happened during pass 3); the final pass sends it.
        stopped = true;
        var final = await session.FinalSyncAsync();
        Assert.True(final.Final);
        Assert.Equal(4, final.Pass);
        Assert.Equal(4096, final.BytesSent);
        await writer.DisposeAsync();

        Assert.Equal(await TestData.Sha256FileAsync(path), await TestData.Sha256FileAsync(target));
        Assert.Equal(Enumerable.Range(0, session.State.NextPass), session.State.Passes.Select(p => p.Pass));
        Assert.Contains(progress, p => p.Stage == ReplicationStage.Committed && p.Completed!.Final);
        Assert.True(session.State.Finished);
    }

    [Fact]
    public async Task A_dirty_bitmap_session_sends_only_the_changed_blocks_and_ends_equal_to_the_export()
    {
        using var dir = new TempDirectory();
        var image = dir.File("vm.qcow2");
        var target = dir.File("target.raw");
        await ExternalTool.RunAsync("qemu-img", ["create", "-q", "-f", "qcow2", image, "64M"]);
        await QemuIoAsync("qcow2", image, "write -P 0x11 0 4M");
        await ExternalTool.RunAsync("qemu-img", ["bitmap", "--add", image, "bm0"]);
        await using var server = await ServerProcess.StartQemuNbdAsync(image, "qcow2", "-B", "bm0", "-e", "4");
        await using var writer = await NbdClient.ConnectAsync(server.Options());
        await using var source = await DirtyBitmapChangeSource.ConnectAsync(server.Options(), "bm0");
        await using var sink = RawFileSink.Create(target, 64 * MiB);
        var session = await ReplicationSession.OpenAsync(source, sink, new ReplicationOptions { UntilDeltaBytes = 256 * KiB });

        var initial = await session.RunPassAsync();
        Assert.Equal(4 * MiB, initial.BytesChanged);
        Assert.Equal(4 * MiB, initial.BytesSent);

        // Three 64 KiB blocks of new data (one of them a partial write into a block holding data).
        await writer.WriteAsync(8 * MiB, TestData.Random(64 * 1024, 1));
        await writer.WriteAsync(20 * MiB, TestData.Random(64 * 1024, 2));
        await writer.WriteAsync(MiB + 512, TestData.Random(512, 3));
        await writer.FlushAsync();
        var first = await session.RunPassAsync();
        Assert.Equal(3 * 64 * KiB, first.BytesChanged);
        Assert.Equal(3 * 64 * KiB, first.BytesSent);
        Assert.Equal(ReplicationStopReason.DeltaSmallEnough, session.Converged());

        // The bitmap keeps marking those blocks; only the new change crosses.
        await writer.WriteAsync(30 * MiB, TestData.Random(4096, 4));
        await writer.FlushAsync();
        var final = await session.FinalSyncAsync();
        Assert.Equal(64 * KiB, final.BytesChanged);
        Assert.Equal(4096, final.BytesSent);
        Assert.Equal(60 * KiB, final.BytesZeroed);

        Assert.Equal(await ExportHashAsync(writer), await TestData.Sha256FileAsync(target));
    }

    [Fact]
    public async Task Snapshot_layers_replicate_to_the_content_of_the_last_snapshot()
    {
        using var dir = new TempDirectory();
        string Img(string name) => dir.File(name);
        var target = dir.File("target.raw");
        await ExternalTool.RunAsync("qemu-img", ["create", "-q", "-f", "qcow2", Img("base.qcow2"), "16M"]);
        await QemuIoAsync("qcow2", Img("base.qcow2"), "write -P 0x11 0 4M");
        await ExternalTool.RunAsync("qemu-img", ["create", "-q", "-f", "qcow2", "-b", "base.qcow2", "-F", "qcow2", Img("snap1.qcow2")]);
        await QemuIoAsync("qcow2", Img("snap1.qcow2"), "write -P 0x22 1M 64k", "write -z 2M 64k");
        await ExternalTool.RunAsync("qemu-img", ["create", "-q", "-f", "qcow2", "-b", "snap1.qcow2", "-F", "qcow2", Img("snap2.qcow2")]);
        await QemuIoAsync("qcow2", Img("snap2.qcow2"), "write -P 0x33 5M 4k");

        await using var source = new SnapshotDeltaChangeSource(Img("base.qcow2"));
        await using var sink = RawFileSink.Create(target, 16 * MiB);
        var session = await ReplicationSession.OpenAsync(source, sink);
        Assert.Equal(4 * MiB, (await session.RunPassAsync()).BytesSent);

        source.AddLayer(Img("snap1.qcow2"));
        var first = await session.RunPassAsync();
        Assert.Equal(128 * KiB, first.BytesChanged);
        Assert.Equal(64 * KiB, first.BytesSent);
        Assert.Equal(64 * KiB, first.BytesZeroed);

        source.AddLayer(Img("snap2.qcow2"));
        var final = await session.FinalSyncAsync();
        Assert.Equal(4096, final.BytesSent);
        Assert.Equal(await RawHashAsync(Img("snap2.qcow2"), "qcow2", dir), await TestData.Sha256FileAsync(target));
    }

    [Fact]
    public async Task A_session_resumed_after_a_restart_continues_at_the_next_pass_and_sends_only_the_delta()
    {
        using var dir = new TempDirectory();
        var image = dir.File("vm.qcow2");
        var target = dir.File("target.raw");
        var state = dir.File("replication.json");
        await ExternalTool.RunAsync("qemu-img", ["create", "-q", "-f", "qcow2", image, "32M"]);
        await QemuIoAsync("qcow2", image, "write -P 0x11 0 2M");
        await ExternalTool.RunAsync("qemu-img", ["bitmap", "--add", image, "bm0"]);
        await using var server = await ServerProcess.StartQemuNbdAsync(image, "qcow2", "-B", "bm0", "-e", "4");
        await using var writer = await NbdClient.ConnectAsync(server.Options());
        var options = new ReplicationOptions { StatePath = state };

        // The first process: the initial sync and one incremental pass, then it goes away.
        await using (var source = await DirtyBitmapChangeSource.ConnectAsync(server.Options(), "bm0"))
        await using (var sink = RawFileSink.Create(target, 32 * MiB))
        {
            var session = await ReplicationSession.OpenAsync(source, sink, options);
            Assert.False(session.Resumed);
            await session.RunPassAsync();
            await writer.WriteAsync(10 * MiB, TestData.Random(128 * 1024, 1));
            await writer.FlushAsync();
            Assert.Equal(128 * KiB, (await session.RunPassAsync()).BytesSent);
        }

        await writer.WriteAsync(12 * MiB, TestData.Random(8192, 2));
        await writer.FlushAsync();

        // A new process: new change source and session from the saved state; pass 2 sends only the new 8 KiB.
        await using (var source = await DirtyBitmapChangeSource.ConnectAsync(server.Options(), "bm0"))
        await using (var sink = RawFileSink.Open(target, 32 * MiB))
        {
            var session = await ReplicationSession.OpenAsync(source, sink, options);
            Assert.True(session.Resumed);
            Assert.Equal(2, session.State.NextPass);
            var resumed = await session.RunPassAsync();
            Assert.Equal(2, resumed.Pass);
            Assert.Equal(64 * KiB, resumed.BytesChanged);
            Assert.Equal(8192, resumed.BytesSent);
        }

        Assert.Equal(await ExportHashAsync(writer), await TestData.Sha256FileAsync(target));
        var saved = await ReplicationState.LoadAsync(state);
        Assert.Equal([0, 1, 2], saved.Passes.Select(p => p.Pass));
        Assert.Equal(3, saved.NextPass);

        // A state of another disk is refused by name.
        await using var other = new BlockHashChangeSource(await DiskImage.OpenAsync(target), ownsDisk: true);
        await using var otherSink = new NullBlockSink();
        var refused = await Assert.ThrowsAsync<InvalidDataException>(() => ReplicationSession.OpenAsync(other, otherSink, options));
        Assert.Contains(state, refused.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_delta_that_does_not_shrink_stops_the_passes_as_not_converging()
    {
        using var dir = new TempDirectory();
        var path = dir.File("busy.raw");
        await ExternalTool.RunAsync("qemu-img", ["create", "-q", "-f", "raw", path, "8M"]);
        await using var disk = await DiskImage.OpenAsync(path);
        await using var source = new BlockHashChangeSource(disk, blockSize: 64 * 1024);
        await using var sink = new NullBlockSink(8 * MiB);
        var session = await ReplicationSession.OpenAsync(source, sink, new ReplicationOptions { UntilDeltaBytes = 0, MaxPassesWithoutShrinking = 2, MaxPasses = 10 });
        var progress = new Progress<ReplicationProgress>();
        session.ProgressChanged += (_, p) =>
        {
            // Every scan of an incremental pass finds the writer has changed four blocks again.
            if (p.Stage == ReplicationStage.Committed)
            {
                var pattern = (byte)(p.Pass + 1);
                using var file = new FileStream(path, FileMode.Open, FileAccess.Write, FileShare.ReadWrite);
                for (var i = 0; i < 4; i++)
                {
                    file.Position = i * 2 * 64 * 1024;
                    file.Write(Enumerable.Repeat(pattern, 4096).ToArray());
                }
            }
        };

        Assert.Equal(ReplicationStopReason.NotConverging, await session.ReplicateAsync(progress));
        var incremental = session.State.Passes.Where(p => p.Pass > 0).ToList();
        Assert.Equal([ReplicationTrend.None, ReplicationTrend.Steady, ReplicationTrend.Steady], incremental.Select(p => p.Trend));
        Assert.All(incremental, p => Assert.Equal(4 * 64 * KiB, p.BytesChanged));
    }
}
