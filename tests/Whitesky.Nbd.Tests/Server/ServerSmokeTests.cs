using Whitesky.Nbd.Server;
using Whitesky.Nbd.Tests.Interop;
using Whitesky.Nbd.Tests.Peers;

namespace Whitesky.Nbd.Tests.Server;

public class ServerSmokeTests
{
    private static readonly TimeSpan Limit = TimeSpan.FromSeconds(60);

    [Fact]
    public async Task Nbdinfo_and_nbdcopy_and_the_client_agree_with_the_backend()
    {
        using var dir = new TempDirectory();
        var backend = new ArrayBackend(16 << 20);
        await using var server = await NbdServer.StartAsync(new NbdServerOptions
        {
            Listen = [NbdEndpoint.Unix(dir.File("s.sock"))],
            Exports = [new NbdServerExport { Name = "disk", Backend = backend, Description = "test disk" }],
        });
        var uri = NbdUri.Format(server.Endpoints[0], "disk");

        var source = dir.File("in.raw");
        var content = TestData.Random(16 << 20, seed: 1);
        Array.Clear(content, 4 << 20, 4 << 20);
        await File.WriteAllBytesAsync(source, content);
        await ExternalTool.RunAsync("nbdcopy", [source, uri]);
        Assert.Equal(TestData.Sha256(content), TestData.Sha256(backend.Bytes));

        var output = dir.File("out.raw");
        await ExternalTool.RunAsync("nbdcopy", [uri, output]);
        Assert.Equal(TestData.Sha256(content), await TestData.Sha256FileAsync(output));

        await using var client = await NbdClient.ConnectAsync(uri).WaitAsync(Limit);
        var map = await ExtentMap.FromClientAsync(client, NbdMetaContexts.BaseAllocation);
        Assert.Equal(await ExtentMap.FromNbdinfoAsync(uri), map);
        Assert.Contains(map, e => e.Flags == 3);
    }
}
