using System.Text.Json;
using Whitesky.Nbd.Server;
using Whitesky.Nbd.Tests.Peers;

namespace Whitesky.Nbd.Tests.Server;

/// <summary>What reaches the disk when clients write through the server into a sparse file.</summary>
[System.Runtime.Versioning.SupportedOSPlatform("linux")]
public class DataSafetyTests
{
    private static readonly TimeSpan Limit = TimeSpan.FromSeconds(60);

    [Fact]
    public async Task After_flush_and_fua_the_file_holds_exactly_the_writes_with_holes_where_zeroes_were_trimmed()
    {
        using var dir = new TempDirectory();
        var path = dir.File("disk.raw");
        const int size = 32 << 20;
        var expected = new byte[size];
        await using (var backend = SparseFileBackend.Create(path, size))
        {
            await using var server = await NbdServer.StartAsync(new NbdServerOptions
            {
                Listen = [NbdEndpoint.Unix(dir.File("s.sock"))],
                Exports = [new NbdServerExport { Name = "", Backend = backend }],
            });
            await using var client = await NbdClient.ConnectAsync(new NbdClientOptions { Endpoint = server.Endpoints[0], Connections = 2 }).WaitAsync(Limit);
            Assert.True(client.Export.CanTrim && client.Export.CanFastZero);

            // 16 MiB of data over both connections, then 4 MiB of it zeroed with holes allowed, 1 MiB with NO_HOLE.
            var data = TestData.Random(16 << 20, seed: 77);
            data.CopyTo(expected, 8 << 20);
            var writes = Enumerable.Range(0, 16).Select(i =>
                client.WriteAsync((8L << 20) + ((long)i << 20), data.AsMemory(i << 20, 1 << 20)).AsTask());
            await Task.WhenAll(writes).WaitAsync(Limit);
            await client.WriteZeroesAsync(12L << 20, 4 << 20, NbdCommandFlags.FastZero).AsTask().WaitAsync(Limit);
            Array.Clear(expected, 12 << 20, 4 << 20);
            await client.WriteZeroesAsync(20L << 20, 1 << 20, NbdCommandFlags.NoHole).AsTask().WaitAsync(Limit);
            Array.Clear(expected, 20 << 20, 1 << 20);
            var last = TestData.Random(4096, seed: 78);
            last.CopyTo(expected, size - 4096);
            await client.WriteAsync(size - 4096, last, NbdCommandFlags.Fua).AsTask().WaitAsync(Limit);
            await client.FlushAsync().AsTask().WaitAsync(Limit);

            // Read while the server still runs: what the flush promised is in the file.
            Assert.Equal(TestData.Sha256(expected), await TestData.Sha256FileAsync(path));
        }

        Assert.Equal(TestData.Sha256(expected), await TestData.Sha256FileAsync(path));

        // qemu-img sees holes before the data, in the trimmed 4 MiB and after; data where data was written.
        var map = JsonDocument.Parse(await ExternalTool.RunAsync("qemu-img", ["map", "--output=json", "-f", "raw", path]));
        bool IsData(long offset) => map.RootElement.EnumerateArray().Any(e =>
            e.GetProperty("data").GetBoolean() && e.GetProperty("start").GetInt64() <= offset
            && offset < e.GetProperty("start").GetInt64() + e.GetProperty("length").GetInt64());
        Assert.False(IsData(0));
        Assert.True(IsData(8L << 20));
        Assert.False(IsData(13L << 20));
        Assert.True(IsData(18L << 20));
        Assert.False(IsData(28L << 20));
        Assert.True(IsData(size - 1));
    }
}
