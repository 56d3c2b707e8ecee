using Whitesky.Nbd.Tests.Peers;

namespace Whitesky.Nbd.Tests.Unit;

public class NbdUriTests
{
    [Theory]
    [InlineData("nbd://example.com/disk", "disk")]
    [InlineData("nbd://example.com/", "")]
    [InlineData("nbd://example.com", "")]
    [InlineData("nbd://example.com//disk", "/disk")]
    [InlineData("nbd://example.com/hello%20world", "hello world")]
    public void Export_names_follow_the_uri_spec_table(string uri, string export)
    {
        var options = NbdUri.Parse(uri);
        Assert.Equal(export, options.ExportName);
        var tcp = Assert.IsType<NbdTcpEndpoint>(options.Endpoint);
        Assert.Equal("example.com", tcp.Host);
        Assert.Equal(10809, tcp.Port);
        Assert.Equal(NbdTlsMode.Disabled, options.TlsMode);
    }

    [Fact]
    public void Unix_socket_ipv6_and_ports_are_parsed()
    {
        var unix = NbdUri.Parse("nbd+unix:///disk?socket=/run/nbd%20x.sock");
        Assert.Equal("/run/nbd x.sock", Assert.IsType<NbdUnixEndpoint>(unix.Endpoint).Path);
        Assert.Equal("disk", unix.ExportName);

        var v6 = Assert.IsType<NbdTcpEndpoint>(NbdUri.Parse("nbd://[::1]:10900/e").Endpoint);
        Assert.Equal("::1", v6.Host);
        Assert.Equal(10900, v6.Port);
    }

    [Fact]
    public void Nbds_with_a_psk_file_selects_the_identity_from_the_user_part()
    {
        using var dir = new TempDirectory();
        var file = dir.File("keys.psk");
        File.WriteAllText(file, "# comment\nalice:00112233445566778899aabbccddeeff\nbob:ffeeddccbbaa99887766554433221100\n");

        var options = NbdUri.Parse($"nbds://bob@127.0.0.1:10809/disk?tls-psk-file={Uri.EscapeDataString(file)}");
        Assert.Equal(NbdTlsMode.Required, options.TlsMode);
        Assert.NotNull(options.TlsPsk);
        Assert.Equal("bob", options.TlsPsk!.Identity);
        Assert.Equal(Convert.FromHexString("ffeeddccbbaa99887766554433221100"), options.TlsPsk.Key.ToArray());

        var unix = NbdUri.Parse($"nbds+unix://alice@/disk?socket=/tmp/s&tls-psk-file={file}");
        Assert.Equal("alice", unix.TlsPsk!.Identity);
    }

    [Theory]
    [InlineData("http://host/disk", "scheme")]
    [InlineData("nbd+unix:///disk", "socket=")]
    [InlineData("nbd://host:99999/disk", "port")]
    [InlineData("nbd://host:abc/disk", "port")]
    [InlineData("nbd://host/disk?tls-psk-file=/x", "nbds://")]
    [InlineData("nbd://[::1/disk", "IPv6")]
    [InlineData("nbd://host/a%00b", "NUL")]
    [InlineData("nbds://host/disk?tls-type=anon", "tls-type")]
    public void Bad_uris_fail_with_a_message_that_says_what_is_wrong(string uri, string expected)
    {
        var ex = Assert.Throws<FormatException>(() => NbdUri.Parse(uri));
        Assert.Contains(expected, ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Format_round_trips_through_parse()
    {
        var tcp = NbdUri.Format(NbdEndpoint.Tcp("::1", 1234), "my disk");
        Assert.Equal("nbd://[::1]:1234/my%20disk", tcp);
        var parsed = NbdUri.Parse(tcp);
        Assert.Equal("my disk", parsed.ExportName);
        Assert.Equal(NbdEndpoint.Tcp("::1", 1234), parsed.Endpoint);

        var unix = NbdUri.Format(NbdEndpoint.Unix("/tmp/a b.sock"), "", tls: true, pskIdentity: "u", pskFile: "/k.psk");
        Assert.Equal("nbds+unix://u@/?socket=%2Ftmp%2Fa%20b.sock&tls-psk-file=%2Fk.psk", unix);
    }
}
