using Whitesky.Nbd.Tests.Peers;

namespace Whitesky.Nbd.Tests.Interop;

/// <summary>The client over X.509 TLS (SslStream) against nbdkit with certificates made at test time.</summary>
public class TlsX509InteropTests
{
    private static readonly TimeSpan Limit = TimeSpan.FromSeconds(60);

    [Fact]
    public async Task Writes_over_x509_tls_read_back_and_match_nbdcopy_over_tls()
    {
        using var dir = new TempDirectory();
        using var certificates = TestCertificates.Create(dir.Path);
        await using var server = await ServerProcess.StartNbdkitAsync(false, "--tls=require", "--tls-certificates=" + dir.Path, "memory", "8M");
        var options = server.Options() with { TlsMode = NbdTlsMode.Required, TlsHostName = "localhost", ServerCertificateValidation = certificates.TrustOnlyCa() };

        var data = TestData.Random(3 << 20, seed: 31);
        await using (var client = await NbdClient.ConnectAsync(options).WaitAsync(Limit))
        {
            Assert.Equal("X.509", client.Export.Tls);
            await client.WriteAsync(1 << 20, data).AsTask().WaitAsync(Limit);
            await client.FlushAsync();
            var read = new byte[data.Length];
            await client.ReadAsync(1 << 20, read).AsTask().WaitAsync(Limit);
            Assert.Equal(TestData.Sha256(data), TestData.Sha256(read));
        }

        // libnbd verifies the server against the CA in the same folder (tls-certificates=).
        var output = dir.File("out.raw");
        var uri = $"nbds://localhost:{((NbdTcpEndpoint)server.Endpoint).Port}/?tls-certificates={dir.Path}";
        await ExternalTool.RunAsync("nbdcopy", [uri, output]);
        var copy = await File.ReadAllBytesAsync(output);
        Assert.Equal(TestData.Sha256(data), TestData.Sha256(copy.AsSpan(1 << 20, data.Length)));
    }

    [Fact]
    public async Task A_server_certificate_from_another_ca_is_an_authentication_failure()
    {
        using var dir = new TempDirectory();
        using var serverCertificates = TestCertificates.Create(dir.Path);
        using var other = new TempDirectory();
        using var otherCertificates = TestCertificates.Create(other.Path, "Some other CA");
        await using var server = await ServerProcess.StartNbdkitAsync(false, "--tls=require", "--tls-certificates=" + dir.Path, "memory", "1M");

        var options = server.Options() with { TlsMode = NbdTlsMode.Required, TlsHostName = "localhost", ServerCertificateValidation = otherCertificates.TrustOnlyCa() };
        var ex = await Assert.ThrowsAsync<NbdTlsException>(() => NbdClient.ConnectAsync(options)).WaitAsync(Limit);
        Assert.Equal(NbdTlsFailure.AuthenticationFailed, ex.Failure);
        Assert.Contains("X.509", ex.Message, StringComparison.Ordinal);

        // With the system trust store (the default), a private CA is not trusted either.
        var defaults = server.Options() with { TlsMode = NbdTlsMode.Required, TlsHostName = "localhost" };
        var ex2 = await Assert.ThrowsAsync<NbdTlsException>(() => NbdClient.ConnectAsync(defaults)).WaitAsync(Limit);
        Assert.Equal(NbdTlsFailure.AuthenticationFailed, ex2.Failure);
    }
}
