using Whitesky.Nbd.Tests.Peers;

namespace Whitesky.Nbd.Tests.Server.Interop;

/// <summary>A server that requires TLS-PSK refuses plaintext clients and wrong keys, from libnbd and from the SDK client.</summary>
public class TlsRequiredTests
{
    private static readonly TimeSpan Limit = ServerUnderTest.Limit;

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task A_plaintext_client_is_refused_and_learns_nothing_but_that_tls_is_required(bool unixSocket)
    {
        var backend = new ArrayBackend(1 << 20);
        await using var server = await ServerUnderTest.StartAsync(unixSocket, tls: true, backend);

        var (exitCode, stdout, stderr) = await ExternalTool.TryRunAsync("nbdinfo", [server.PlainUri()]).WaitAsync(Limit);
        Assert.NotEqual(0, exitCode);
        Assert.DoesNotContain("1048576", stdout, StringComparison.Ordinal);
        Assert.Contains("server replied with error to opt_go", stderr, StringComparison.Ordinal); // NBD_REP_ERR_TLS_REQD

        var list = await ExternalTool.TryRunAsync("nbdinfo", ["--list", server.PlainUri("")]).WaitAsync(Limit);
        Assert.NotEqual(0, list.ExitCode);
        Assert.DoesNotContain("disk", list.StdOut, StringComparison.Ordinal);

        var refused = await Assert.ThrowsAsync<NbdTlsException>(() => NbdClient.ConnectAsync(server.PlainUri()).WaitAsync(Limit));
        Assert.Equal(NbdTlsFailure.RequiredByServer, refused.Failure);

        // With the key, the same server answers.
        var info = await ExternalTool.RunAsync("nbdinfo", ["--size", server.Uri()]).WaitAsync(Limit);
        Assert.Equal("1048576", info.Trim());
        await server.WhenIdleAsync();
        Assert.DoesNotContain(server.Commands, c => c.Command != NbdCommand.Read);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task A_wrong_key_or_an_unknown_identity_is_refused(bool unixSocket)
    {
        var backend = new ArrayBackend(1 << 20);
        await using var server = await ServerUnderTest.StartAsync(unixSocket, tls: true, backend);
        using var dir = new TempDirectory();
        var wrongKey = TestData.WritePskFile(dir, ServerUnderTest.Identity, TestData.Random(32, seed: 61), "wrong.psk");
        var unknownIdentity = TestData.WritePskFile(dir, "mallory", server.Key, "mallory.psk");

        var wrong = await ExternalTool.TryRunAsync("nbdinfo", [NbdUri.Format(server.Endpoint, "disk", true, ServerUnderTest.Identity, wrongKey)]).WaitAsync(Limit);
        Assert.NotEqual(0, wrong.ExitCode);
        var unknown = await ExternalTool.TryRunAsync("nbdinfo", [NbdUri.Format(server.Endpoint, "disk", true, "mallory", unknownIdentity)]).WaitAsync(Limit);
        Assert.NotEqual(0, unknown.ExitCode);
        var copy = await ExternalTool.TryRunAsync("nbdcopy", [NbdUri.Format(server.Endpoint, "disk", true, ServerUnderTest.Identity, wrongKey), dir.File("out.raw")]).WaitAsync(Limit);
        Assert.NotEqual(0, copy.ExitCode);

        var sdkWrong = await Assert.ThrowsAsync<NbdTlsException>(() =>
            NbdClient.ConnectAsync(server.ClientOptions() with { TlsPsk = new NbdTlsPsk(ServerUnderTest.Identity, TestData.Random(32, seed: 62)) }).WaitAsync(Limit));
        Assert.Equal(NbdTlsFailure.AuthenticationFailed, sdkWrong.Failure);
        var sdkUnknown = await Assert.ThrowsAsync<NbdTlsException>(() =>
            NbdClient.ConnectAsync(server.ClientOptions() with { TlsPsk = new NbdTlsPsk("mallory", server.Key) }).WaitAsync(Limit));
        Assert.Equal(NbdTlsFailure.AuthenticationFailed, sdkUnknown.Failure);

        // No refused client got to the export; the server reported each handshake as a failure.
        await server.WhenIdleAsync();
        Assert.Empty(server.Commands);
        Assert.True(server.Closed.Count >= 5, $"{server.Closed.Count} connections");
        Assert.All(server.Closed, c => Assert.NotNull(c.Error));
        Assert.All(server.Closed, c => Assert.Null(c.Export));

        // The right key still works afterwards.
        await using var client = await server.ConnectAsync();
        Assert.Equal("TLS-PSK", client.Export.Tls);
    }
}
