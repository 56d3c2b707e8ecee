using System.Globalization;
using System.Text.Json;
using Whitesky.DiskFormats;
using Whitesky.Migration.Sources;
using Whitesky.Nbd;
using Whitesky.Nbd.Server;
using Whitesky.Nbd.Tests.Peers;

namespace Whitesky.Migration.Tests.Sources;

/// <summary>Disk images served over NBD like qemu-nbd serves them, read by nbdinfo, nbdcopy and the SDK client.</summary>
public class VirtualDiskBackendTests
{
    private static readonly TimeSpan Limit = TimeSpan.FromSeconds(60);

    [Theory]
    [InlineData("qcow2")]
    [InlineData("vmdk")]
    public async Task An_image_served_over_nbd_reads_and_maps_like_qemu_img_says(string format)
    {
        using var dir = new TempDirectory();
        var image = dir.File("disk." + format);
        await ExternalTool.RunAsync("qemu-img", ["create", "-q", "-f", format, image, "48M"]);
        await ExternalTool.RunAsync("qemu-io", ["-f", format, "-c", "write -P 0x3c 2M 5M", "-c", "write -P 0x7e 30M 64k", "-c", "write -z 40M 1M", image]);
        var expected = dir.File("expected.raw");
        await ExternalTool.RunAsync("qemu-img", ["convert", "-f", format, "-O", "raw", image, expected]);

        await using var backend = new VirtualDiskBackend(await DiskImage.OpenAsync(image), ownsDisk: true);
        await using var server = await NbdServer.StartAsync(new NbdServerOptions
        {
            Listen = [NbdEndpoint.Unix(dir.File("s.sock"))],
            Exports = [new NbdServerExport { Name = "disk", Backend = backend }],
        });
        var uri = NbdUri.Format(server.Endpoints[0], "disk");

        var copy = dir.File("copy.raw");
        await ExternalTool.RunAsync("nbdcopy", [uri, copy], Limit);
        Assert.Equal(await TestData.Sha256FileAsync(expected), await TestData.Sha256FileAsync(copy));

        // nbdinfo's data runs are qemu-img's data runs.
        var theirs = JsonDocument.Parse(await ExternalTool.RunAsync("qemu-img", ["map", "--output=json", "-f", format, image]))
            .RootElement.EnumerateArray()
            .Where(e => e.GetProperty("data").GetBoolean())
            .Select(e => (e.GetProperty("start").GetInt64(), e.GetProperty("length").GetInt64()));
        var ours = (await ExternalTool.RunAsync("nbdinfo", ["--map", uri]))
            .Split('\n', StringSplitOptions.RemoveEmptyEntries)
            .Select(l => l.Split(' ', StringSplitOptions.RemoveEmptyEntries))
            .Where(p => p[2] == "0")
            .Select(p => (long.Parse(p[0], CultureInfo.InvariantCulture), long.Parse(p[1], CultureInfo.InvariantCulture)));
        Assert.Equal(Merge(theirs), Merge(ours));

        await using var client = await NbdClient.ConnectAsync(uri).WaitAsync(Limit);
        Assert.True(client.Export.IsReadOnly);
        var writeBack = await ExternalTool.TryRunAsync("nbdcopy", [expected, uri]);
        Assert.NotEqual(0, writeBack.ExitCode);
    }

    private static List<(long, long)> Merge(IEnumerable<(long Start, long Length)> runs)
    {
        var merged = new List<(long Start, long Length)>();
        foreach (var (start, length) in runs)
        {
            if (merged.Count > 0 && merged[^1].Start + merged[^1].Length == start)
            {
                merged[^1] = (merged[^1].Start, merged[^1].Length + length);
            }
            else
            {
                merged.Add((start, length));
            }
        }

        return merged.Select(r => (r.Start, r.Length)).ToList();
    }
}
