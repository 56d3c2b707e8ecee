using Whitesky.Nbd.Tests.Peers;
using static Whitesky.DiskFormats.Tests.Qcow2.Qcow2Peers;

namespace Whitesky.DiskFormats.Tests.Core;

public class LayerOnlyTests
{
    [Theory]
    [InlineData("qcow2")]
    [InlineData("vmdk")]
    public async Task A_layer_opened_alone_shows_only_what_the_snapshot_wrote(string format)
    {
        using var dir = new TempDirectory();
        var basePath = dir.File("base." + format);
        var overlay = dir.File("snap." + format);
        await ExternalTool.RunAsync("qemu-img", ["create", "-q", "-f", format, basePath, "8M"]);
        await ExternalTool.RunAsync("qemu-io", ["-f", format, "-c", "write -P 0x11 0 4M", basePath]);
        await ExternalTool.RunAsync("qemu-img", ["create", "-q", "-f", format, "-b", "base." + format, "-F", format, overlay]);
        await ExternalTool.RunAsync("qemu-io", ["-f", format, "-c", "write -P 0x22 1M 64k", "-c", "write -P 0x33 6M 128k", overlay]);

        await using var layer = await DiskImage.OpenAsync(overlay, new DiskImageOptions { LayerOnly = true });
        var data = (await OurKindsAsync(layer)).Where(k => k.Kind == DiskExtentKind.Data).ToList();
        Assert.Equal([(1L << 20, 64L << 10), (6L << 20, 128L << 10)], data.Select(k => (k.Start, k.Length)));

        var buffer = new byte[8 << 20];
        await layer.ReadAsync(0, buffer);
        Assert.All(buffer.AsSpan(0, 1 << 20).ToArray(), b => Assert.Equal(0, b));
        Assert.All(buffer.AsSpan(1 << 20, 64 << 10).ToArray(), b => Assert.Equal(0x22, b));
        Assert.All(buffer.AsSpan(6 << 20, 128 << 10).ToArray(), b => Assert.Equal(0x33, b));

        // The whole chain still reads like qemu.
        await using var chain = await DiskImage.OpenAsync(overlay);
        var (hash, _) = await QemuContentAsync(dir, overlay);
        var whole = new byte[chain.Capacity];
        await chain.ReadAsync(0, whole);
        Assert.Equal(hash, TestData.Sha256(whole));
    }
}
