using Whitesky.Nbd.Tests.Peers;

namespace Whitesky.Nbd.Tests.Interop;

/// <summary>The client against qemu-nbd serving qcow2 images made by qemu-img and written by qemu-io.</summary>
public class QemuNbdInteropTests
{
    private static readonly TimeSpan Limit = TimeSpan.FromSeconds(60);

    /// <summary>A qcow2 with 4 MiB written before a persistent bitmap was added, then 64 KiB at 8 MiB and 1 MiB at 20 MiB after.</summary>
    private static async Task<string> MakeImageWithDirtyBitmapAsync(TempDirectory dir)
    {
        var image = dir.File("disk.qcow2");
        await ExternalTool.RunAsync("qemu-img", ["create", "-q", "-f", "qcow2", image, "64M"]);
        await ExternalTool.RunAsync("qemu-io", ["-f", "qcow2", "-c", "write -P 0x11 0 4M", image]);
        await ExternalTool.RunAsync("qemu-img", ["bitmap", "--add", image, "bm0"]);
        await ExternalTool.RunAsync("qemu-io", ["-f", "qcow2", "-c", "write -P 0x22 8M 64k", "-c", "write -P 0x33 20M 1M", image]);
        return image;
    }

    [Fact]
    public async Task Dirty_bitmap_block_status_shows_exactly_the_writes_after_the_bitmap_was_added()
    {
        using var dir = new TempDirectory();
        var image = await MakeImageWithDirtyBitmapAsync(dir);
        await using var server = await ServerProcess.StartQemuNbdAsync(image, "qcow2", "-r", "-B", "bm0");

        var bitmap = NbdMetaContexts.QemuDirtyBitmap("bm0");
        var options = server.Options() with { MetaContexts = [NbdMetaContexts.BaseAllocation, bitmap] };
        await using var client = await NbdClient.ConnectAsync(options);
        Assert.Equal([NbdMetaContexts.BaseAllocation, bitmap], client.Export.MetaContexts.Order(StringComparer.Ordinal));

        var dirty = await ExtentMap.FromClientAsync(client, bitmap).WaitAsync(Limit);
        Assert.Equal(
            [(0L, 8L << 20, 0u), (8L << 20, 64L << 10, NbdExtent.DirtyFlag), ((8L << 20) + (64L << 10), (12L << 20) - (64L << 10), 0u),
             (20L << 20, 1L << 20, NbdExtent.DirtyFlag), (21L << 20, 43L << 20, 0u)],
            dirty);
        Assert.Equal(await ExtentMap.FromNbdinfoAsync(server.Uri(), bitmap), dirty);

        var allocation = await ExtentMap.FromClientAsync(client, NbdMetaContexts.BaseAllocation);
        Assert.Equal(await ExtentMap.FromNbdinfoAsync(server.Uri()), allocation);

        // One BLOCK_STATUS answers both contexts.
        var both = await client.BlockStatusAsync(0, 64L << 20);
        Assert.Equal([NbdMetaContexts.BaseAllocation, bitmap], both.Contexts.Order(StringComparer.Ordinal));

        var dirtyBytes = new byte[64 << 10];
        await client.ReadAsync(8L << 20, dirtyBytes);
        Assert.All(dirtyBytes, b => Assert.Equal(0x22, b));

        // The extent walk covers exactly the range asked, clipping the runs at both ends.
        var walked = new List<(long, long, uint)>();
        await foreach (var e in client.GetExtentsAsync(bitmap, (8L << 20) + 4096, 13L << 20))
        {
            walked.Add((e.Offset, e.Length, e.Flags));
        }

        Assert.Equal(
            [((8L << 20) + 4096, (64L << 10) - 4096, NbdExtent.DirtyFlag), ((8L << 20) + (64L << 10), (12L << 20) - (64L << 10), 0u),
             (20L << 20, 1L << 20, NbdExtent.DirtyFlag), (21L << 20, 4096, 0u)],
            walked);
    }

    [Fact]
    public async Task Meta_context_listing_offers_the_bitmap_and_unknown_contexts_are_not_negotiated()
    {
        using var dir = new TempDirectory();
        var image = await MakeImageWithDirtyBitmapAsync(dir);
        await using var server = await ServerProcess.StartQemuNbdAsync(image, "qcow2", "-r", "-B", "bm0");

        var offered = await NbdClient.ListMetaContextsAsync(server.Options(), ["qemu:"]);
        Assert.Contains(NbdMetaContexts.QemuDirtyBitmap("bm0"), offered);

        var options = server.Options() with { MetaContexts = [NbdMetaContexts.BaseAllocation, "qemu:dirty-bitmap:nosuch", "vendor:unknown"] };
        await using var client = await NbdClient.ConnectAsync(options);
        Assert.Equal([NbdMetaContexts.BaseAllocation], client.Export.MetaContexts);
        var status = await client.BlockStatusAsync(0, 1 << 20);
        Assert.False(status.TryGetExtents("vendor:unknown", out _));
        Assert.Throws<KeyNotFoundException>(() => status["qemu:dirty-bitmap:nosuch"]);
    }

    [Fact]
    public async Task Client_writes_into_a_qcow2_match_qemu_img_convert_of_it()
    {
        using var dir = new TempDirectory();
        var image = dir.File("target.qcow2");
        await ExternalTool.RunAsync("qemu-img", ["create", "-q", "-f", "qcow2", image, "16M"]);
        var expected = new byte[16 << 20];
        await using (var server = await ServerProcess.StartQemuNbdAsync(image, "qcow2"))
        {
            await using var client = await NbdClient.ConnectAsync(server.Options());
            var data = TestData.Random(3 << 20, seed: 21);
            data.CopyTo(expected, 5L << 20);
            await client.WriteAsync(5L << 20, data).AsTask().WaitAsync(Limit);
            await client.WriteZeroesAsync(6L << 20, 512 * 1024).AsTask().WaitAsync(Limit);
            Array.Clear(expected, 6 << 20, 512 * 1024);
            await client.FlushAsync();
        }

        var raw = dir.File("target.raw");
        await ExternalTool.RunAsync("qemu-img", ["convert", "-f", "qcow2", "-O", "raw", image, raw]);
        Assert.Equal(TestData.Sha256(expected), await TestData.Sha256FileAsync(raw));
        var check = await ExternalTool.RunAsync("qemu-img", ["check", image]);
        Assert.Contains("No errors were found", check, StringComparison.Ordinal);
    }
}
