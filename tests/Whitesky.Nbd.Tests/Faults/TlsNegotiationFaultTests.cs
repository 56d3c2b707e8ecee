using System.Buffers.Binary;
using Whitesky.Nbd.Tests.Peers;

namespace Whitesky.Nbd.Tests.Faults;

/// <summary>
/// TLS demanded by one side and not offered by the other. Neither case reaches a TLS handshake; both
/// must fail with <see cref="NbdTlsException"/> saying which side wanted what, and a client that
/// required TLS must not have sent a single byte in plaintext after asking for it.
/// </summary>
public class TlsNegotiationFaultTests
{
    private static readonly TimeSpan Limit = TimeSpan.FromSeconds(20);

    [Fact]
    public async Task A_server_that_refuses_STARTTLS_gets_nothing_in_plaintext_after_it()
    {
        await using var server = await ServerProcess.StartNbdkitAsync(false, "--tls=off", "memory", "1M");
        await using var proxy = new LoopbackProxy(((NbdTcpEndpoint)server.Endpoint).Port);
        var options = new NbdClientOptions
        {
            Endpoint = proxy.Endpoint,
            ExportName = "disk",
            TlsMode = NbdTlsMode.Required,
            TlsPsk = new NbdTlsPsk("alice", TestData.Random(32, seed: 41)),
            HandshakeTimeout = TimeSpan.FromSeconds(15),
        };

        var failure = await Assert.ThrowsAsync<NbdTlsException>(() => NbdClient.ConnectAsync(options).WaitAsync(Limit));
        Assert.Equal(NbdTlsFailure.RefusedByServer, failure.Failure);
        Assert.Contains($"TLS is required but the NBD server at {proxy.Endpoint} refused STARTTLS (NBD_REP_ERR_", failure.Message, StringComparison.Ordinal);

        // Exactly: the client flags, then the STARTTLS option header with no data. No NBD_OPT_ABORT, no
        // export name, no other option: the client hangs up.
        await proxy.Completion.WaitAsync(Limit);
        var sent = proxy.ClientBytes;
        var expected = new byte[4 + 16];
        BinaryPrimitives.WriteUInt32BigEndian(expected, 1 | 2); // NBD_FLAG_C_FIXED_NEWSTYLE | NBD_FLAG_C_NO_ZEROES (nbdkit offers NO_ZEROES)
        BinaryPrimitives.WriteUInt64BigEndian(expected.AsSpan(4), 0x49484156454F5054); // IHAVEOPT
        BinaryPrimitives.WriteUInt32BigEndian(expected.AsSpan(12), 5); // NBD_OPT_STARTTLS
        BinaryPrimitives.WriteUInt32BigEndian(expected.AsSpan(16), 0);
        Assert.Equal(Convert.ToHexString(expected), Convert.ToHexString(sent));
    }

    [Theory]
    [InlineData(true, "NBD_OPT_STRUCTURED_REPLY")]
    [InlineData(false, "NBD_OPT_GO")]
    public async Task A_server_that_requires_TLS_fails_a_plaintext_client_with_RequiredByServer(bool structuredReplies, string firstOption)
    {
        using var dir = new TempDirectory();
        var keys = TestData.WritePskFile(dir, "alice", TestData.Random(32, seed: 42));
        await using var server = await ServerProcess.StartNbdkitAsync(true, "--tls=require", "--tls-psk=" + keys, "memory", "1M");
        var options = server.Options() with { StructuredReplies = structuredReplies, TlsMode = NbdTlsMode.Disabled };

        var failure = await Assert.ThrowsAsync<NbdTlsException>(() => NbdClient.ConnectAsync(options).WaitAsync(Limit));
        Assert.Equal(NbdTlsFailure.RequiredByServer, failure.Failure);
        Assert.Contains($"The NBD server at {server.Endpoint} requires TLS (NBD_REP_ERR_TLS_REQD to {firstOption})", failure.Message, StringComparison.Ordinal);
    }
}
