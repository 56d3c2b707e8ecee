using Whitesky.Nbd.Tests.Peers;

namespace Whitesky.Nbd.Tests.Unit;

public class NbdTlsPskTests
{
    private const string SecretHex = "5e5e5e5e00112233445566778899aabb";

    [Fact]
    public void The_key_never_appears_in_strings_or_errors()
    {
        var psk = NbdTlsPsk.FromHex("alice", SecretHex);
        var options = new NbdClientOptions { Endpoint = NbdEndpoint.Tcp("127.0.0.1"), TlsMode = NbdTlsMode.Required, TlsPsk = psk };

        foreach (var text in new[] { psk.ToString(), options.ToString() })
        {
            Assert.DoesNotContain(SecretHex, text, StringComparison.OrdinalIgnoreCase);
            Assert.DoesNotContain("5E5E5E5E", text, StringComparison.OrdinalIgnoreCase);
        }

        Assert.Contains("alice", psk.ToString(), StringComparison.Ordinal);
        Assert.Contains("redacted", psk.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public void Psk_file_errors_name_the_file_and_line_but_not_the_key()
    {
        using var dir = new TempDirectory();
        var bad = dir.File("bad.psk");
        File.WriteAllText(bad, "alice:" + SecretHex + "\nbob:nothex" + SecretHex + "\n");
        var ex = Assert.Throws<FormatException>(() => NbdTlsPsk.FromFile(bad, "bob"));
        Assert.Contains("line 2", ex.Message, StringComparison.Ordinal);
        Assert.Contains(bad, ex.Message, StringComparison.Ordinal);
        Assert.DoesNotContain(SecretHex, ex.Message, StringComparison.OrdinalIgnoreCase);

        var missing = Assert.Throws<FormatException>(() => NbdTlsPsk.FromFile(bad, "carol"));
        Assert.Contains("carol", missing.Message, StringComparison.Ordinal);

        var first = NbdTlsPsk.FromFile(bad);
        Assert.Equal("alice", first.Identity);
        Assert.Equal(16, first.KeyLength);
    }

    [Fact]
    public async Task A_psk_without_tls_required_is_rejected()
    {
        var options = new NbdClientOptions { Endpoint = NbdEndpoint.Tcp("127.0.0.1"), TlsPsk = NbdTlsPsk.FromHex("a", "00") };
        var ex = await Assert.ThrowsAsync<ArgumentException>(() => NbdClient.ConnectAsync(options));
        Assert.Contains("TlsMode", ex.Message, StringComparison.Ordinal);
    }
}
