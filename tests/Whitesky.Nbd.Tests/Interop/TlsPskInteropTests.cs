using Whitesky.Nbd.Tests.Peers;

namespace Whitesky.Nbd.Tests.Interop;

/// <summary>The client over TLS-PSK against nbdkit (GnuTLS), cross-checked with nbdcopy and nbdinfo over TLS.</summary>
public class TlsPskInteropTests
{
    private static readonly TimeSpan Limit = TimeSpan.FromSeconds(60);

    private static async Task<(ServerProcess Server, string PskFile)> StartTlsServerAsync(TempDirectory dir, bool unixSocket, string size, byte[] key)
    {
        var pskFile = TestData.WritePskFile(dir, "alice", key);
        var server = await ServerProcess.StartNbdkitAsync(unixSocket, "--tls=require", "--tls-psk=" + pskFile, "memory", size);
        return (server, pskFile);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task Writes_over_tls_psk_are_read_back_by_nbdcopy_over_tls(bool unixSocket)
    {
        using var dir = new TempDirectory();
        var (server, pskFile) = await StartTlsServerAsync(dir, unixSocket, "16M", TestData.Random(32, seed: 1));
        await using var _ = server;
        var uri = server.Uri(pskFile: pskFile, identity: "alice");

        var expected = new byte[16 << 20];
        await using (var client = await NbdClient.ConnectAsync(uri))
        {
            Assert.Equal("TLS-PSK", client.Export.Tls);
            var writes = new List<Task>();
            for (var i = 0; i < 16; i += 2)
            {
                var chunk = TestData.Random(1 << 20, seed: 50 + i);
                chunk.CopyTo(expected, (long)i << 20);
                writes.Add(client.WriteAsync((long)i << 20, chunk).AsTask());
            }

            await Task.WhenAll(writes).WaitAsync(Limit);
            await client.FlushAsync();

            var read = new byte[expected.Length];
            await client.ReadAsync(0, read).AsTask().WaitAsync(Limit);
            Assert.Equal(TestData.Sha256(expected), TestData.Sha256(read));

            var map = await ExtentMap.FromClientAsync(client, NbdMetaContexts.BaseAllocation);
            Assert.Equal(await ExtentMap.FromNbdinfoAsync(uri), map);
        }

        var output = dir.File("out.raw");
        await ExternalTool.RunAsync("nbdcopy", [uri, output]);
        Assert.Equal(TestData.Sha256(expected), await TestData.Sha256FileAsync(output));
    }

    [Fact]
    public async Task What_nbdcopy_writes_over_tls_the_client_reads_back_with_multi_conn()
    {
        using var dir = new TempDirectory();
        var (server, pskFile) = await StartTlsServerAsync(dir, false, "8M", TestData.Random(16, seed: 2));
        await using var _ = server;
        var uri = server.Uri(pskFile: pskFile, identity: "alice");
        var source = dir.File("in.raw");
        var content = TestData.Random(8 << 20, seed: 3);
        await File.WriteAllBytesAsync(source, content);
        await ExternalTool.RunAsync("nbdcopy", [source, uri]);

        await using var client = await NbdClient.ConnectAsync(NbdUri.Parse(uri) with { Connections = 2 });
        Assert.Equal(2, client.ConnectionCount);
        var read = new byte[content.Length];
        await client.ReadAsync(0, read).AsTask().WaitAsync(Limit);
        Assert.Equal(TestData.Sha256(content), TestData.Sha256(read));
    }

    [Fact]
    public async Task A_wrong_key_is_an_authentication_failure_that_does_not_leak_the_key()
    {
        using var dir = new TempDirectory();
        var (server, _) = await StartTlsServerAsync(dir, false, "1M", TestData.Random(32, seed: 4));
        await using var __ = server;
        var wrongKey = TestData.Random(32, seed: 5);
        var options = server.Options() with { TlsMode = NbdTlsMode.Required, TlsPsk = new NbdTlsPsk("alice", wrongKey) };

        var ex = await Assert.ThrowsAsync<NbdTlsException>(() => NbdClient.ConnectAsync(options)).WaitAsync(Limit);
        Assert.Equal(NbdTlsFailure.AuthenticationFailed, ex.Failure);
        Assert.DoesNotContain(Convert.ToHexString(wrongKey), ex.ToString(), StringComparison.OrdinalIgnoreCase);

        var unknown = server.Options() with { TlsMode = NbdTlsMode.Required, TlsPsk = new NbdTlsPsk("mallory", wrongKey) };
        var ex2 = await Assert.ThrowsAsync<NbdTlsException>(() => NbdClient.ConnectAsync(unknown)).WaitAsync(Limit);
        Assert.Equal(NbdTlsFailure.AuthenticationFailed, ex2.Failure);
    }

    [Fact]
    public async Task Plaintext_client_against_a_tls_only_server_is_told_tls_is_required()
    {
        using var dir = new TempDirectory();
        var (server, _) = await StartTlsServerAsync(dir, true, "1M", TestData.Random(32, seed: 6));
        await using var __ = server;
        var ex = await Assert.ThrowsAsync<NbdTlsException>(() => NbdClient.ConnectAsync(server.Options())).WaitAsync(Limit);
        Assert.Equal(NbdTlsFailure.RequiredByServer, ex.Failure);
    }

    [Fact]
    public async Task A_tls_server_that_stops_reading_cannot_hold_writes_past_the_request_timeout()
    {
        using var dir = new TempDirectory();
        var (server, pskFile) = await StartTlsServerAsync(dir, false, "64M", TestData.Random(32, seed: 8));
        await using var _ = server;
        await using var proxy = new LoopbackProxy(((NbdTcpEndpoint)server.Endpoint).Port);
        var options = NbdUri.Parse(server.Uri(pskFile: pskFile, identity: "alice")) with
        {
            Endpoint = proxy.Endpoint,
            RequestTimeout = TimeSpan.FromMilliseconds(500),
        };
        await using var client = await NbdClient.ConnectAsync(options).WaitAsync(Limit);
        var data = TestData.Random(1 << 20, seed: 9);
        await client.WriteAsync(0, data).AsTask().WaitAsync(Limit);

        proxy.StopReadingFromClient();
        var writes = Enumerable.Range(1, 48).Select(i => client.WriteAsync((long)i << 20, data).AsTask()).ToArray();
        foreach (var write in writes)
        {
            await Assert.ThrowsAsync<NbdConnectionException>(() => write.WaitAsync(Limit));
        }

        var later = await Assert.ThrowsAsync<NbdConnectionException>(() => client.ReadAsync(0, new byte[4096]).AsTask().WaitAsync(Limit));
        Assert.Contains("stopped reading", later.Message, StringComparison.Ordinal);
    }
}
