using Whitesky.Nbd.Protocol;
using Whitesky.Nbd.Tests.Peers;
using Whitesky.Nbd.Tests.Server.Interop;

namespace Whitesky.Nbd.Tests.Server.Hostile;

/// <summary>A TLS-only server against a hand-written client: options before TLS, STARTTLS twice, plaintext smuggled behind STARTTLS.</summary>
public class TlsAbuseTests
{
    private static readonly TimeSpan Prompt = TimeSpan.FromSeconds(5);

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task Starttls_once_tls_is_up_is_answered_ERR_INVALID_and_the_session_goes_on(bool unixSocket)
    {
        var backend = new ArrayBackend(1 << 20);
        TestData.Random(1 << 20, seed: 111).CopyTo(backend.Bytes, 0);
        await using var server = await ServerUnderTest.StartAsync(unixSocket, tls: true, backend);
        await using var raw = await RawNbdClient.ConnectAsync(server.Endpoint);
        await raw.StartAsync();

        // Before TLS every option but STARTTLS (and ABORT) is refused.
        foreach (var option in new[] { NbdWire.NBD_OPT_LIST, NbdWire.NBD_OPT_STRUCTURED_REPLY, NbdWire.NBD_OPT_INFO, NbdWire.NBD_OPT_GO })
        {
            var data = option is NbdWire.NBD_OPT_INFO or NbdWire.NBD_OPT_GO ? RawNbdClient.ExportRequest("disk") : [];
            Assert.Equal(NbdWire.NBD_REP_ERR_TLS_REQD, Assert.Single(await raw.OptionAsync(option, data)).Type);
        }

        await raw.StartTlsAsync(new NbdTlsPsk(ServerUnderTest.Identity, server.Key));

        Assert.Equal(NbdWire.NBD_REP_ERR_INVALID, Assert.Single(await raw.OptionAsync(NbdWire.NBD_OPT_STARTTLS, [])).Type);
        Assert.Equal(NbdWire.NBD_REP_ERR_INVALID, Assert.Single(await raw.OptionAsync(NbdWire.NBD_OPT_STARTTLS, [1, 2, 3])).Type);

        // Still in step, inside TLS: list, open the export, read.
        var list = await raw.OptionAsync(NbdWire.NBD_OPT_LIST, []);
        Assert.Equal([NbdWire.NBD_REP_SERVER, NbdWire.NBD_REP_ACK], list.Select(r => r.Type));
        var (size, _) = await raw.GoAsync("disk", structured: true);
        Assert.Equal(1 << 20, size);
        var data0 = await raw.ReadAsync(1, 65536, 65536);
        Assert.Equal(TestData.Sha256(backend.Bytes.AsSpan(65536, 65536)), TestData.Sha256(data0));
    }

    [Fact]
    public async Task Plaintext_sent_behind_starttls_is_never_taken_as_an_option()
    {
        var backend = new ArrayBackend(1 << 20);
        await using var server = await ServerUnderTest.StartAsync(unixSocket: false, tls: true, backend);
        await using var raw = await RawNbdClient.ConnectAsync(server.Endpoint);
        await raw.StartAsync();

        // STARTTLS and, in the same segment, a plaintext NBD_OPT_LIST (nbdkit's CVE-2021-3716).
        await raw.SendAsync(RawNbdClient.Concat(RawNbdClient.OptionHeader(NbdWire.NBD_OPT_STARTTLS, 0), RawNbdClient.OptionHeader(NbdWire.NBD_OPT_LIST, 0)));
        var (option, type, _) = await raw.ReadOptionReplyAsync();
        Assert.Equal((NbdWire.NBD_OPT_STARTTLS, NbdWire.NBD_REP_ACK), (option, type));

        // The server now expects a TLS ClientHello; the plaintext option is a broken record. At most a
        // TLS alert comes back (content type 21), never an option reply.
        var after = await raw.WaitForServerCloseAsync(Prompt);
        Assert.True(after.Length == 0 || after[0] == 21, $"after STARTTLS the server sent {Convert.ToHexString(after)}");
        var closed = await server.WhenClosedAsync(c => c.RemoteEndpoint == raw.LocalEndpoint);
        Assert.IsAssignableFrom<IOException>(closed.Error);
        Assert.Null(closed.Export);
    }

    [Fact]
    public async Task Export_name_before_tls_closes_the_connection_without_an_answer()
    {
        var backend = new ArrayBackend(1 << 20);
        await using var server = await ServerUnderTest.StartAsync(unixSocket: false, tls: true, backend);
        await using var raw = await RawNbdClient.ConnectAsync(server.Endpoint);
        await raw.StartAsync();

        await raw.SendOptionAsync(NbdWire.NBD_OPT_EXPORT_NAME, "disk"u8.ToArray());

        Assert.Empty(await raw.WaitForServerCloseAsync(Prompt));
        var closed = await server.WhenClosedAsync(c => c.RemoteEndpoint == raw.LocalEndpoint);
        Assert.Equal(NbdTlsFailure.RequiredByServer, Assert.IsType<NbdTlsException>(closed.Error).Failure);
        Assert.Null(closed.Export);
    }
}
