using Whitesky.DiskFormats;
using Whitesky.Migration.Replication;
using Whitesky.Nbd;
using Whitesky.Nbd.Tests.Peers;

namespace Whitesky.Migration.Tests.Replication;

/// <summary>Each change source against real writers: qemu-io on files and images, writes through qemu-nbd.</summary>
public class ChangeSourceTests
{
    private const long MiB = 1L << 20;
    private const long KiB = 1L << 10;

    private static Task QemuIoAsync(string format, string path, params string[] commands) =>
        ExternalTool.RunAsync("qemu-io", ["-f", format, .. commands.SelectMany(c => new[] { "-c", c }), path]);

    private static IEnumerable<(long, long)> Pairs(ChangeSet set) => set.Ranges.Select(r => (r.Offset, r.Length));

    [Fact]
    public async Task Block_hashes_find_exactly_the_blocks_a_writer_changed_and_survive_a_restart()
    {
        using var dir = new TempDirectory();
        var path = dir.File("live.raw");
        await ExternalTool.RunAsync("qemu-img", ["create", "-q", "-f", "raw", path, "16M"]);
        await QemuIoAsync("raw", path, "write -P 0x11 0 3M", "write -P 0x22 8M 64k");

        await using (var disk = await DiskImage.OpenAsync(path))
        await using (var source = new BlockHashChangeSource(disk))
        {
            var initial = await source.GetChangesAsync(0);
            Assert.Equal([(0L, 3 * MiB), (8 * MiB, MiB)], Pairs(initial));
            await source.CommitAsync(initial);

            await QemuIoAsync("raw", path, "write -P 0x44 8196k 4k", "write -z 1M 1M", "write -P 0x55 12M 4k");
            var first = await source.GetChangesAsync(1);
            Assert.Equal([(1 * MiB, MiB), (8 * MiB, MiB), (12 * MiB, MiB)], Pairs(first));
            await source.CommitAsync(first);

            Assert.Empty((await source.GetChangesAsync(2)).Ranges);
            await using var state = File.Create(dir.File("hashes.state"));
            await source.SaveStateAsync(state);
        }

        // A restarted replication compares against the saved hashes.
        await QemuIoAsync("raw", path, "write -P 0x66 15M 512");
        await using (var disk = await DiskImage.OpenAsync(path))
        await using (var source = new BlockHashChangeSource(disk))
        {
            await using (var state = File.OpenRead(dir.File("hashes.state")))
            {
                await source.LoadStateAsync(state);
            }

            Assert.Equal([(15 * MiB, MiB)], Pairs(await source.GetChangesAsync(3)));
            await using var other = new BlockHashChangeSource(disk, blockSize: 64 * 1024);
            await using var wrong = File.OpenRead(dir.File("hashes.state"));
            await Assert.ThrowsAsync<InvalidDataException>(() => other.LoadStateAsync(wrong));
        }
    }

    [Fact]
    public async Task Snapshot_layers_give_each_pass_exactly_what_the_snapshot_holds()
    {
        using var dir = new TempDirectory();
        string Img(string name) => dir.File(name);
        await ExternalTool.RunAsync("qemu-img", ["create", "-q", "-f", "qcow2", Img("base.qcow2"), "16M"]);
        await QemuIoAsync("qcow2", Img("base.qcow2"), "write -P 0x11 0 4M");
        await ExternalTool.RunAsync("qemu-img", ["create", "-q", "-f", "qcow2", "-b", "base.qcow2", "-F", "qcow2", Img("snap1.qcow2")]);
        await QemuIoAsync("qcow2", Img("snap1.qcow2"), "write -P 0x22 1M 64k", "write -z 2M 64k");
        await ExternalTool.RunAsync("qemu-img", ["create", "-q", "-f", "qcow2", "-b", "snap1.qcow2", "-F", "qcow2", Img("snap2.qcow2")]);
        await QemuIoAsync("qcow2", Img("snap2.qcow2"), "write -P 0x33 5M 4k");

        await using var source = new SnapshotDeltaChangeSource(Img("base.qcow2"));
        source.AddLayer(Img("snap1.qcow2"));
        source.AddLayer(Img("snap2.qcow2"));

        Assert.Equal([(0L, 4 * MiB)], Pairs(await source.GetChangesAsync(0)));
        Assert.Equal([(1 * MiB, 64 * KiB), (2 * MiB, 64 * KiB)], Pairs(await source.GetChangesAsync(1)));
        var last = await source.GetChangesAsync(2);
        Assert.Equal([(5 * MiB, 64 * KiB)], Pairs(last));

        // Reads during a pass see the whole chain up to that layer, as qemu does.
        var converted = Img("snap2.raw");
        await ExternalTool.RunAsync("qemu-img", ["convert", "-O", "raw", Img("snap2.qcow2"), converted]);
        var expected = await File.ReadAllBytesAsync(converted);
        var actual = new byte[expected.Length];
        await source.ReadAsync(0, actual);
        Assert.Equal(TestData.Sha256(expected), TestData.Sha256(actual));
        await source.CommitAsync(last);

        var missing = await Assert.ThrowsAsync<InvalidOperationException>(() => source.GetChangesAsync(3));
        Assert.Contains("take a snapshot", missing.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_live_dirty_bitmap_narrowed_by_hashes_sends_only_what_changed_since_the_last_pass()
    {
        using var dir = new TempDirectory();
        var image = dir.File("vm.qcow2");
        await ExternalTool.RunAsync("qemu-img", ["create", "-q", "-f", "qcow2", image, "64M"]);
        await QemuIoAsync("qcow2", image, "write -P 0x11 0 4M");
        await ExternalTool.RunAsync("qemu-img", ["bitmap", "--add", image, "bm0"]);
        await using var server = await ServerProcess.StartQemuNbdAsync(image, "qcow2", "-B", "bm0");
        await using var writer = await NbdClient.ConnectAsync(server.Options());

        await using var source = await DirtyBitmapChangeSource.ConnectAsync(server.Options(), "bm0");
        var initial = await source.GetChangesAsync(0);
        Assert.Equal([(0L, 4 * MiB)], Pairs(initial));
        await source.CommitAsync(initial);

        await writer.WriteAsync(8 * MiB, TestData.Random(64 * 1024, 1));
        await writer.FlushAsync();
        var first = await source.GetChangesAsync(1);
        Assert.Equal([(8 * MiB, 64 * KiB)], Pairs(first));
        await source.CommitAsync(first);

        // The bitmap still marks 8M dirty; only the new write is sent.
        await writer.WriteAsync(20 * MiB, TestData.Random(4096, 2));
        await writer.FlushAsync();
        var second = await source.GetChangesAsync(2);
        Assert.Equal([(20 * MiB, 64 * KiB)], Pairs(second));
        await source.CommitAsync(second);

        // Rewriting the same bytes is no change; different bytes are.
        await writer.WriteAsync(8 * MiB, TestData.Random(64 * 1024, 1));
        await writer.WriteAsync((8 * MiB) + (64 * KiB), TestData.Random(512, 3));
        await writer.FlushAsync();
        var third = await source.GetChangesAsync(3);
        Assert.Equal([((8 * MiB) + (64 * KiB), 64 * KiB)], Pairs(third));

        // Without committing, the same changes come again (a failed pass loses nothing).
        Assert.Equal(Pairs(third), Pairs(await source.GetChangesAsync(3)));
    }

    [Fact]
    public async Task A_server_without_the_bitmap_is_refused_with_its_name()
    {
        using var dir = new TempDirectory();
        var image = dir.File("plain.qcow2");
        await ExternalTool.RunAsync("qemu-img", ["create", "-q", "-f", "qcow2", image, "8M"]);
        await using var server = await ServerProcess.StartQemuNbdAsync(image, "qcow2");
        var error = await Assert.ThrowsAsync<InvalidOperationException>(() => DirtyBitmapChangeSource.ConnectAsync(server.Options(), "bm9"));
        Assert.Contains("bm9", error.Message, StringComparison.Ordinal);
    }
}
