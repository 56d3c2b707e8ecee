using System.Security.Cryptography;
using Org.BouncyCastle.Tls;
using Whitesky.Nbd.Tls;

namespace Whitesky.Nbd.Tests.Tls;

/// <summary>
/// The TLS-PSK transport against the real peer: nbdkit (GnuTLS) with <c>--tls=require --tls-psk</c>.
/// Each test does the plaintext NBD handshake up to <c>NBD_OPT_STARTTLS</c> by hand, upgrades with
/// <see cref="PskTls.ConnectClientAsync(Stream, NbdTlsPsk, CancellationToken)"/>, and checks what
/// nbdkit answers through the encrypted stream.
/// </summary>
public sealed class PskTlsNbdkitTests
{
    private const string Identity = "alice";
    private static readonly TimeSpan Limit = TimeSpan.FromSeconds(30);

    [Fact]
    public async Task Tls13_with_nbdkit_negotiates_aes128gcm_and_lists_then_opens_the_export()
    {
        var key = TestKeys.NewHexKey();
        await using var server = await NbdkitPskServer.StartAsync([(Identity, key)]);
        using var timeout = new CancellationTokenSource(Limit);

        await using var tls = await UpgradeAsync(server, NbdTlsPsk.FromHex(Identity, key), timeout.Token);

        var stream = Assert.IsType<PskTlsStream>(tls);
        Assert.Equal(ProtocolVersion.TLSv13, stream.NegotiatedVersion);
        Assert.Equal("TLS_AES_128_GCM_SHA256", stream.CipherSuiteName);
        Assert.Equal(Identity, stream.Identity);

        var exports = await RawNbd.ListExportsAsync(tls, timeout.Token);
        Assert.Equal([""], exports);
        var (size, _) = await RawNbd.GoAsync(tls, "", timeout.Token);
        Assert.Equal(1048576ul, size);
    }

    [Fact]
    public async Task Write_then_read_round_trips_over_tls_psk_with_nbdkit_on_the_aesgcm_record_path()
    {
        var key = TestKeys.NewHexKey();
        await using var server = await NbdkitPskServer.StartAsync([(Identity, key)], size: "16M");
        using var timeout = new CancellationTokenSource(Limit);
        await using var tls = await UpgradeAsync(server, NbdTlsPsk.FromHex(Identity, key), timeout.Token);
        var stream = (PskTlsStream)tls;
        await RawNbd.GoAsync(tls, "", timeout.Token);

        var sealedBefore = stream.AesGcmRecordsSealed;
        var openedBefore = stream.AesGcmRecordsOpened;
        var data = RandomNumberGenerator.GetBytes(4 << 20);
        await RawNbd.WriteAsync(tls, cookie: 1, offset: 3 << 20, data, timeout.Token);
        var back = await RawNbd.ReadAsync(tls, cookie: 2, offset: 3 << 20, data.Length, timeout.Token);
        Assert.Equal(SHA256.HashData(data), SHA256.HashData(back));

        // 4 MiB out as 16 KiB records through AesGcm (plus the request header), and as many back.
        Assert.InRange(stream.AesGcmRecordsSealed - sealedBefore, 256, 300);
        Assert.InRange(stream.AesGcmRecordsOpened - openedBefore, 256, 300);
        await RawNbd.DisconnectAsync(tls, timeout.Token);
    }

    [Fact]
    public async Task Tls12_psk_with_nbdkit_uses_dhe_psk_aes128gcm_and_round_trips()
    {
        var key = TestKeys.NewHexKey();
        await using var server = await NbdkitPskServer.StartAsync([(Identity, key)]);
        using var timeout = new CancellationTokenSource(Limit);
        await using var plain = await server.ConnectAsync(timeout.Token);
        await RawNbd.StartTlsAsync(plain, timeout.Token);
        var options = PskTlsOptions.Default with { Versions = ProtocolVersion.TLSv12.Only() };

        await using var tls = await PskTls.ConnectClientAsync(plain, NbdTlsPsk.FromHex(Identity, key), options, timeout.Token);

        Assert.Equal(ProtocolVersion.TLSv12, tls.NegotiatedVersion);
        Assert.Equal("TLS_DHE_PSK_WITH_AES_128_GCM_SHA256", tls.CipherSuiteName);
        await RawNbd.GoAsync(tls, "", timeout.Token);
        var data = RandomNumberGenerator.GetBytes(256 << 10);
        await RawNbd.WriteAsync(tls, 7, 4096, data, timeout.Token);
        Assert.Equal(data, await RawNbd.ReadAsync(tls, 8, 4096, data.Length, timeout.Token));
        Assert.True(tls.AesGcmRecordsSealed >= 16 && tls.AesGcmRecordsOpened >= 16,
            $"AesGcm records: {tls.AesGcmRecordsSealed} sealed, {tls.AesGcmRecordsOpened} opened");
    }

    [Fact]
    public async Task Wrong_key_is_an_authentication_failure_that_does_not_reveal_the_key()
    {
        var rightKey = TestKeys.NewHexKey();
        var wrongKey = TestKeys.NewHexKey();
        await using var server = await NbdkitPskServer.StartAsync([(Identity, rightKey)]);
        using var timeout = new CancellationTokenSource(Limit);

        var error = await Assert.ThrowsAsync<NbdTlsException>(() =>
            UpgradeAsync(server, NbdTlsPsk.FromHex(Identity, wrongKey), timeout.Token));

        Assert.Equal(NbdTlsFailure.AuthenticationFailed, error.Failure);
        Assert.Contains("key", error.Message, StringComparison.Ordinal);
        Assert.Contains($"'{Identity}'", error.Message, StringComparison.Ordinal);
        TestKeys.AssertNoKeyIn(error.ToString(), rightKey, wrongKey);
    }

    [Fact]
    public async Task Wrong_key_over_tls12_is_an_authentication_failure_and_nbdkit_keeps_serving()
    {
        var rightKey = TestKeys.NewHexKey();
        var wrongKey = TestKeys.NewHexKey();
        await using var server = await NbdkitPskServer.StartAsync([(Identity, rightKey)]);
        using var timeout = new CancellationTokenSource(Limit);
        var tls12 = PskTlsOptions.Default with { Versions = ProtocolVersion.TLSv12.Only() };

        await using (var plain = await server.ConnectAsync(timeout.Token))
        {
            await RawNbd.StartTlsAsync(plain, timeout.Token);
            var error = await Assert.ThrowsAsync<NbdTlsException>(() =>
                PskTls.ConnectClientAsync(plain, NbdTlsPsk.FromHex(Identity, wrongKey), tls12, timeout.Token));

            // GnuTLS closes without an alert when it cannot decrypt the client's Finished.
            Assert.Equal(NbdTlsFailure.AuthenticationFailed, error.Failure);
            Assert.Contains("key is probably wrong", error.Message, StringComparison.Ordinal);
            TestKeys.AssertNoKeyIn(error.ToString(), rightKey, wrongKey);
        }

        await using var tls = await UpgradeAsync(server, NbdTlsPsk.FromHex(Identity, rightKey), timeout.Token);
        Assert.Equal(1048576ul, (await RawNbd.GoAsync(tls, "", timeout.Token)).Size);
    }

    [Fact]
    public async Task Unknown_identity_is_an_authentication_failure()
    {
        var key = TestKeys.NewHexKey();
        await using var server = await NbdkitPskServer.StartAsync([(Identity, key)]);
        using var timeout = new CancellationTokenSource(Limit);

        var error = await Assert.ThrowsAsync<NbdTlsException>(() =>
            UpgradeAsync(server, NbdTlsPsk.FromHex("mallory", key), timeout.Token));

        Assert.Equal(NbdTlsFailure.AuthenticationFailed, error.Failure);
        Assert.Contains("'mallory'", error.Message, StringComparison.Ordinal);
        Assert.Contains("identity", error.Message, StringComparison.Ordinal);
        TestKeys.AssertNoKeyIn(error.ToString(), key);
    }

    [Fact]
    public async Task Nbdkit_answering_with_tls11_is_refused_by_the_client()
    {
        var key = TestKeys.NewHexKey();
        // GnuTLS system-wide overrides, read by nbdkit's GnuTLS at start: nothing newer than TLS 1.1.
        const string overrides = "[overrides]\ndisabled-version = tls1.3\ndisabled-version = tls1.2\n";
        await using var server = await NbdkitPskServer.StartAsync([(Identity, key)], gnutlsPriorityOverrides: overrides);
        using var timeout = new CancellationTokenSource(Limit);
        await using var plain = await server.ConnectAsync(timeout.Token);
        await RawNbd.StartTlsAsync(plain, timeout.Token);
        // Also offer CBC suites that exist in TLS 1.0/1.1, so that GnuTLS really answers with a TLS 1.1
        // ServerHello instead of giving up: refusing it is then the client's own decision.
        var options = PskTlsOptions.Default with
        {
            CipherSuites = [.. PskTlsCipherSuites.Default, CipherSuite.TLS_PSK_WITH_AES_128_CBC_SHA, CipherSuite.TLS_DHE_PSK_WITH_AES_128_CBC_SHA],
        };

        var recording = new RecordingStream(plain);

        var error = await Assert.ThrowsAsync<NbdTlsException>(() =>
            PskTls.ConnectClientAsync(recording, NbdTlsPsk.FromHex(Identity, key), options, timeout.Token));

        // nbdkit really answered: a handshake record whose first message is a ServerHello of TLS 1.1.
        var received = recording.Received;
        Assert.True(received.Length > 11, "nbdkit sent no ServerHello");
        Assert.Equal(22, received[0]);                  // handshake record
        Assert.Equal(2, received[5]);                   // ServerHello
        Assert.Equal([3, 2], received[9..11]);          // server_version TLS 1.1
        // ... and the client refused it with a protocol_version alert of its own.
        Assert.Equal(NbdTlsFailure.HandshakeFailed, error.Failure);
        Assert.Contains("older than 1.2", error.Message, StringComparison.Ordinal);
        var alert = Assert.IsType<TlsFatalAlert>(error.InnerException);
        Assert.Equal(AlertDescription.protocol_version, alert.AlertDescription);
        await WaitForAsync(() => server.StandardError.Contains("gnutls_handshake", StringComparison.Ordinal), timeout.Token);
        Assert.True(server.IsRunning);
    }

    private static async Task WaitForAsync(Func<bool> condition, CancellationToken cancellationToken)
    {
        while (!condition())
        {
            await Task.Delay(10, cancellationToken);
        }
    }

    private static async Task<Stream> UpgradeAsync(NbdkitPskServer server, NbdTlsPsk psk, CancellationToken cancellationToken)
    {
        var plain = await server.ConnectAsync(cancellationToken);
        try
        {
            await RawNbd.StartTlsAsync(plain, cancellationToken);
            return await PskTls.ConnectClientAsync(plain, psk, cancellationToken);
        }
        catch
        {
            await plain.DisposeAsync();
            throw;
        }
    }
}
