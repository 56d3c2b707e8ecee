using System.Net.Security;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Whitesky.Nbd.Tests.Peers;

namespace Whitesky.Nbd.Tests.Interop;

/// <summary>The client over X.509 TLS (SslStream) against nbdkit with certificates made at test time.</summary>
public class TlsX509InteropTests
{
    private static readonly TimeSpan Limit = TimeSpan.FromSeconds(60);

    /// <summary>A CA and a server certificate for localhost / 127.0.0.1, written as nbdkit's certificate folder expects.</summary>
    private static X509Certificate2 WriteCertificates(string folder, string commonName = "Whitesky test CA")
    {
        using var caKey = RSA.Create(2048);
        var caRequest = new CertificateRequest($"CN={commonName}", caKey, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1);
        caRequest.CertificateExtensions.Add(new X509BasicConstraintsExtension(true, false, 0, true));
        caRequest.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.KeyCertSign | X509KeyUsageFlags.CrlSign, true));
        var now = DateTimeOffset.UtcNow;
        var ca = caRequest.CreateSelfSigned(now.AddMinutes(-5), now.AddDays(1));

        using var serverKey = RSA.Create(2048);
        var serverRequest = new CertificateRequest("CN=localhost", serverKey, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1);
        var names = new SubjectAlternativeNameBuilder();
        names.AddDnsName("localhost");
        names.AddIpAddress(System.Net.IPAddress.Loopback);
        serverRequest.CertificateExtensions.Add(names.Build());
        serverRequest.CertificateExtensions.Add(new X509EnhancedKeyUsageExtension([new Oid("1.3.6.1.5.5.7.3.1")], false));
        serverRequest.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.DigitalSignature | X509KeyUsageFlags.KeyEncipherment, true));
        using var server = serverRequest.Create(ca, now.AddMinutes(-5), now.AddDays(1), RandomNumberGenerator.GetBytes(8));

        File.WriteAllText(Path.Combine(folder, "ca-cert.pem"), ca.ExportCertificatePem());
        File.WriteAllText(Path.Combine(folder, "server-cert.pem"), server.ExportCertificatePem());
        File.WriteAllText(Path.Combine(folder, "server-key.pem"), serverKey.ExportPkcs8PrivateKeyPem());
        return ca;
    }

    /// <summary>Trusts exactly <paramref name="ca"/> (a private CA, as an operator would pin it).</summary>
    private static RemoteCertificateValidationCallback TrustOnly(X509Certificate2 ca) => (_, certificate, _, errors) =>
    {
        if (certificate is null || (errors & SslPolicyErrors.RemoteCertificateNameMismatch) != 0)
        {
            return false;
        }

        using var chain = new X509Chain();
        chain.ChainPolicy.TrustMode = X509ChainTrustMode.CustomRootTrust;
        chain.ChainPolicy.CustomTrustStore.Add(ca);
        chain.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck;
        return chain.Build(new X509Certificate2(certificate));
    };

    [Fact]
    public async Task Writes_over_x509_tls_read_back_and_match_nbdcopy_over_tls()
    {
        using var dir = new TempDirectory();
        using var ca = WriteCertificates(dir.Path);
        await using var server = await ServerProcess.StartNbdkitAsync(false, "--tls=require", "--tls-certificates=" + dir.Path, "memory", "8M");
        var options = server.Options() with { TlsMode = NbdTlsMode.Required, TlsHostName = "localhost", ServerCertificateValidation = TrustOnly(ca) };

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
        using var serverCa = WriteCertificates(dir.Path);
        using var other = new TempDirectory();
        using var otherCa = WriteCertificates(other.Path, "Some other CA");
        await using var server = await ServerProcess.StartNbdkitAsync(false, "--tls=require", "--tls-certificates=" + dir.Path, "memory", "1M");

        var options = server.Options() with { TlsMode = NbdTlsMode.Required, TlsHostName = "localhost", ServerCertificateValidation = TrustOnly(otherCa) };
        var ex = await Assert.ThrowsAsync<NbdTlsException>(() => NbdClient.ConnectAsync(options)).WaitAsync(Limit);
        Assert.Equal(NbdTlsFailure.AuthenticationFailed, ex.Failure);
        Assert.Contains("X.509", ex.Message, StringComparison.Ordinal);

        // With the system trust store (the default), a private CA is not trusted either.
        var defaults = server.Options() with { TlsMode = NbdTlsMode.Required, TlsHostName = "localhost" };
        var ex2 = await Assert.ThrowsAsync<NbdTlsException>(() => NbdClient.ConnectAsync(defaults)).WaitAsync(Limit);
        Assert.Equal(NbdTlsFailure.AuthenticationFailed, ex2.Failure);
    }
}
