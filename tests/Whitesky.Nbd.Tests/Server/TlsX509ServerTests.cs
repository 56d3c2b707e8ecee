using Whitesky.Nbd.Server;
using Whitesky.Nbd.Tests.Peers;

namespace Whitesky.Nbd.Tests.Server;

/// <summary>The server with an X.509 certificate, against nbdcopy (GnuTLS) and the SDK client (SslStream).</summary>
public class TlsX509ServerTests
{
    private static readonly TimeSpan Limit = TimeSpan.FromSeconds(60);

    [Fact]
    public async Task Nbdcopy_and_the_client_move_data_over_x509_and_a_plaintext_client_is_refused()
    {
        using var dir = new TempDirectory();
        using var certificates = TestCertificates.Create(dir.Path);
        var backend = new ArrayBackend(8 << 20);
        await using var server = await NbdServer.StartAsync(new NbdServerOptions
        {
            Listen = [NbdEndpoint.Tcp("127.0.0.1", 0)],
            Exports = [new NbdServerExport { Name = "disk", Backend = backend }],
            TlsMode = NbdServerTlsMode.Required,
            TlsCertificate = certificates.Server,
        });
        var port = ((NbdTcpEndpoint)server.Endpoints[0]).Port;

        var source = dir.File("in.raw");
        var content = TestData.Random(8 << 20, seed: 91);
        await File.WriteAllBytesAsync(source, content);
        await ExternalTool.RunAsync("nbdcopy", [source, $"nbds://localhost:{port}/disk?tls-certificates={dir.Path}"]);
        Assert.Equal(TestData.Sha256(content), TestData.Sha256(backend.Bytes));

        var options = new NbdClientOptions
        {
            Endpoint = NbdEndpoint.Tcp("127.0.0.1", port),
            ExportName = "disk",
            TlsMode = NbdTlsMode.Required,
            TlsHostName = "localhost",
            ServerCertificateValidation = certificates.TrustOnlyCa(),
        };
        await using (var client = await NbdClient.ConnectAsync(options).WaitAsync(Limit))
        {
            Assert.Equal("X.509", client.Export.Tls);
            var read = new byte[content.Length];
            await client.ReadAsync(0, read).AsTask().WaitAsync(Limit);
            Assert.Equal(TestData.Sha256(content), TestData.Sha256(read));
        }

        var plain = await Assert.ThrowsAsync<NbdTlsException>(() =>
            NbdClient.ConnectAsync(new NbdClientOptions { Endpoint = NbdEndpoint.Tcp("127.0.0.1", port), ExportName = "disk" })).WaitAsync(Limit);
        Assert.Equal(NbdTlsFailure.RequiredByServer, plain.Failure);
    }
}
