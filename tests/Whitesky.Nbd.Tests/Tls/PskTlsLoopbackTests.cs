using System.Buffers.Binary;
using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Security.Cryptography;
using System.Text;
using Org.BouncyCastle.Tls;
using Org.BouncyCastle.Tls.Crypto.Impl.BC;
using Whitesky.Nbd.Tls;

namespace Whitesky.Nbd.Tests.Tls;

/// <summary>
/// <see cref="PskTls.ConnectClientAsync(Stream, NbdTlsPsk, CancellationToken)"/> against
/// <see cref="PskTls.AcceptServerAsync(Stream, Func{string, NbdTlsPsk}, CancellationToken)"/> and against
/// hostile or silent peers, over real loopback TCP connections.
/// </summary>
public sealed class PskTlsLoopbackTests
{
    private const string Identity = "alice";
    private static readonly TimeSpan Limit = TimeSpan.FromSeconds(60);

    [Fact]
    public async Task Client_and_server_round_trip_16_MiB_both_ways_at_once_over_tls13()
    {
        var (client, server) = await RoundTripBothWaysAsync(PskTlsOptions.Default, PskTlsOptions.Default, 16 << 20);

        Assert.Equal(ProtocolVersion.TLSv13, client.NegotiatedVersion);
        Assert.Equal(ProtocolVersion.TLSv13, server.NegotiatedVersion);
        Assert.Equal("TLS_AES_128_GCM_SHA256", client.CipherSuiteName);
        Assert.Equal(Identity, server.Identity);
        // 16 MiB each way in records of at most 16 KiB, all through .NET's AesGcm on both sides.
        Assert.InRange(client.AesGcmRecordsSealed, 1024, 1200);
        Assert.InRange(server.AesGcmRecordsOpened, 1024, 1200);
        Assert.InRange(server.AesGcmRecordsSealed, 1024, 1200);
        Assert.InRange(client.AesGcmRecordsOpened, 1024, 1200);
    }

    [Fact]
    public async Task The_server_picks_aes_gcm_even_when_the_client_lists_chacha20_first_as_gnutls_does()
    {
        // GnuTLS (nbdcopy, qemu) offers ChaCha20 before AES-128-GCM; BouncyCastle's ChaCha20 is the slow path.
        var chachaFirst = PskTlsOptions.Default with
        {
            CipherSuites = [.. PskTlsOptions.Default.CipherSuites.OrderBy(s => s == 0x1303 ? 0 : 1)],
        };
        Assert.Equal(0x1303, chachaFirst.CipherSuites[0]);

        var (client, server) = await RoundTripBothWaysAsync(chachaFirst, PskTlsOptions.Default, 1 << 20);

        Assert.Equal("TLS_AES_128_GCM_SHA256", server.CipherSuiteName);
        Assert.Equal("TLS_AES_128_GCM_SHA256", client.CipherSuiteName);
        Assert.True(server.AesGcmRecordsOpened > 0);
    }

    [Fact]
    public async Task Client_and_server_round_trip_16_MiB_both_ways_at_once_over_tls12()
    {
        var tls12 = PskTlsOptions.Default with { Versions = ProtocolVersion.TLSv12.Only() };

        var (client, server) = await RoundTripBothWaysAsync(tls12, tls12, 16 << 20);

        Assert.Equal(ProtocolVersion.TLSv12, client.NegotiatedVersion);
        Assert.Equal("TLS_ECDHE_PSK_WITH_AES_128_GCM_SHA256", client.CipherSuiteName);
        Assert.Equal("TLS_ECDHE_PSK_WITH_AES_128_GCM_SHA256", server.CipherSuiteName);
        Assert.InRange(client.AesGcmRecordsSealed, 1024, 1200);
        Assert.InRange(client.AesGcmRecordsOpened, 1024, 1200);
    }

    [Fact]
    public async Task AesGcm_records_interoperate_with_bouncycastle_gcm_in_tls13_and_tls12()
    {
        var managedGcm = PskTlsOptions.Default with { UseDotNetAesGcm = false };
        var (client13, server13) = await RoundTripBothWaysAsync(managedGcm, PskTlsOptions.Default, 1 << 20);
        Assert.Equal(0, client13.AesGcmRecordsSealed);
        Assert.True(server13.AesGcmRecordsSealed >= 64 && server13.AesGcmRecordsOpened >= 64);

        var tls12 = PskTlsOptions.Default with { Versions = ProtocolVersion.TLSv12.Only() };
        var (client12, server12) = await RoundTripBothWaysAsync(tls12, tls12 with { UseDotNetAesGcm = false }, 1 << 20);
        Assert.Equal(ProtocolVersion.TLSv12, client12.NegotiatedVersion);
        Assert.Equal(0, server12.AesGcmRecordsSealed);
        Assert.True(client12.AesGcmRecordsSealed >= 64 && client12.AesGcmRecordsOpened >= 64);
    }

    [Fact]
    public async Task A_2_MiB_write_leaves_as_full_16_KiB_records()
    {
        await using var pair = await LoopbackPair.CreateAsync();
        using var timeout = new CancellationTokenSource(Limit);
        var psk = NewPsk();
        var recording = new RecordingStream(pair.Server);
        var serverTask = PskTls.AcceptServerAsync(recording, KeysOf(psk), PskTlsOptions.Default, timeout.Token);
        await using var client = await PskTls.ConnectClientAsync(pair.Client, psk, PskTlsOptions.Default, timeout.Token);
        await using var server = await serverTask;
        var handshakeBytes = recording.Received.Length;

        var data = RandomNumberGenerator.GetBytes(2 << 20);
        await client.WriteAsync(data, timeout.Token);
        var back = new byte[data.Length];
        await server.ReadExactlyAsync(back, timeout.Token);

        Assert.Equal(data, back);
        var records = RecordLengths(recording.Received.AsSpan(handshakeBytes));
        // TLSInnerPlaintext of 16384 bytes + content type + 16-byte tag, 128 times.
        Assert.Equal(Enumerable.Repeat(16384 + 1 + 16, 128), records);
    }

    [Fact]
    public async Task Unknown_identity_fails_authentication_on_both_sides()
    {
        await using var pair = await LoopbackPair.CreateAsync();
        using var timeout = new CancellationTokenSource(Limit);
        var offered = new List<string>();
        var serverTask = PskTls.AcceptServerAsync(pair.Server, name =>
        {
            offered.Add(name);
            return null;
        }, timeout.Token);

        var clientError = await Assert.ThrowsAsync<NbdTlsException>(() => PskTls.ConnectClientAsync(pair.Client, NewPsk("mallory"), timeout.Token));
        var serverError = await Assert.ThrowsAsync<NbdTlsException>(() => serverTask);

        Assert.Equal(["mallory"], offered);
        Assert.Equal(NbdTlsFailure.AuthenticationFailed, clientError.Failure);
        Assert.Contains("does not know the TLS-PSK identity 'mallory'", clientError.Message, StringComparison.Ordinal);
        Assert.Equal(NbdTlsFailure.AuthenticationFailed, serverError.Failure);
        Assert.Contains("'mallory'", serverError.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Wrong_key_fails_authentication_on_both_sides_over_tls13()
    {
        var (clientError, serverError, keys) = await HandshakeWithWrongKeyAsync(PskTlsOptions.Default);

        Assert.Equal(NbdTlsFailure.AuthenticationFailed, clientError.Failure);
        Assert.Equal(AlertDescription.decrypt_error, Assert.IsType<TlsFatalAlertReceived>(clientError.InnerException).AlertDescription);
        Assert.Contains("key is probably wrong", clientError.Message, StringComparison.Ordinal);
        Assert.Equal(NbdTlsFailure.AuthenticationFailed, serverError.Failure);
        TestKeys.AssertNoKeyIn(clientError.ToString() + serverError, keys);
    }

    [Fact]
    public async Task Wrong_key_fails_authentication_on_both_sides_over_tls12()
    {
        var (clientError, serverError, keys) = await HandshakeWithWrongKeyAsync(PskTlsOptions.Default with { Versions = ProtocolVersion.TLSv12.Only() });

        Assert.Equal(NbdTlsFailure.AuthenticationFailed, clientError.Failure);
        Assert.Equal(AlertDescription.bad_record_mac, Assert.IsType<TlsFatalAlertReceived>(clientError.InnerException).AlertDescription);
        Assert.Equal(NbdTlsFailure.AuthenticationFailed, serverError.Failure);
        TestKeys.AssertNoKeyIn(clientError.ToString() + serverError, keys);
    }

    [Fact]
    public async Task Client_refuses_a_server_that_only_speaks_tls10_and_tls11()
    {
        await using var pair = await LoopbackPair.CreateAsync();
        using var timeout = new CancellationTokenSource(Limit);
        var psk = NewPsk();
        var legacyServer = Task.Factory.StartNew(() =>
        {
            var protocol = new TlsServerProtocol(pair.Server);
            protocol.Accept(new LegacyPskServer(psk.Key.ToArray()));
        }, CancellationToken.None, TaskCreationOptions.LongRunning, TaskScheduler.Default);

        var error = await Assert.ThrowsAsync<NbdTlsException>(() => PskTls.ConnectClientAsync(pair.Client, psk, timeout.Token));

        Assert.Equal(NbdTlsFailure.HandshakeFailed, error.Failure);
        Assert.Equal(AlertDescription.protocol_version, Assert.IsType<TlsFatalAlertReceived>(error.InnerException).AlertDescription);
        Assert.Contains("neither TLS 1.3 nor TLS 1.2", error.Message, StringComparison.Ordinal);
        var serverError = await Assert.ThrowsAsync<TlsFatalAlert>(() => legacyServer);
        Assert.Equal(AlertDescription.protocol_version, serverError.AlertDescription);
    }

    [Fact]
    public async Task Client_refuses_a_tls10_server_hello_with_a_protocol_version_alert()
    {
        await using var pair = await LoopbackPair.CreateAsync();
        using var timeout = new CancellationTokenSource(Limit);
        var fakeServer = Task.Run(async () =>
        {
            await ReadRecordAsync(pair.Server, timeout.Token); // ClientHello
            await pair.Server.WriteAsync(Tls10ServerHello(), timeout.Token);
            return await ReadRecordAsync(pair.Server, timeout.Token);
        });

        var error = await Assert.ThrowsAsync<NbdTlsException>(() => PskTls.ConnectClientAsync(pair.Client, NewPsk(), timeout.Token));

        Assert.Equal(NbdTlsFailure.HandshakeFailed, error.Failure);
        Assert.Contains("older than 1.2", error.Message, StringComparison.Ordinal);
        var alert = await fakeServer;
        Assert.Equal(21, alert[0]);                                  // alert record
        Assert.Equal(new byte[] { 2, (byte)AlertDescription.protocol_version }, alert[5..7]); // fatal, protocol_version
    }

    [Fact]
    public async Task Client_hello_offers_tls13_and_tls12_only_with_aes128gcm_first_and_the_psk()
    {
        await using var pair = await LoopbackPair.CreateAsync();
        using var timeout = new CancellationTokenSource(Limit);
        var capture = Task.Run(() => ReadRecordAsync(pair.Server, timeout.Token));
        var client = PskTls.ConnectClientAsync(pair.Client, NewPsk(), timeout.Token);

        var hello = ParseClientHello(await capture);
        await pair.Server.DisposeAsync();
        await Assert.ThrowsAsync<NbdTlsException>(() => client);

        Assert.Equal(0x0303, hello.LegacyVersion);
        Assert.Equal([0x0304, 0x0303], hello.SupportedVersions);
        Assert.Equal(0x1301, hello.CipherSuites[0]);
        var expected = PskTlsCipherSuites.Default.Append(0x00FF); // plus the renegotiation SCSV
        Assert.Empty(hello.CipherSuites.Except(expected));
        Assert.Equal(Identity, hello.PskIdentity);
        Assert.Equal([1], hello.PskKeyExchangeModes); // psk_dhe_ke: forward secrecy
        Assert.True(hello.HasKeyShare);
    }

    [Fact]
    public async Task Cancelling_a_handshake_with_a_silent_server_throws_promptly_and_closes_the_transport()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        await socket.ConnectAsync((IPEndPoint)listener.LocalEndpoint);
        using var silent = await listener.AcceptSocketAsync();
        using var cancel = new CancellationTokenSource(TimeSpan.FromMilliseconds(200));
        var clock = Stopwatch.StartNew();

        var error = await Assert.ThrowsAnyAsync<OperationCanceledException>(() =>
            PskTls.ConnectClientAsync(new NetworkStream(socket, ownsSocket: true), NewPsk(), cancel.Token));

        Assert.Equal(cancel.Token, error.CancellationToken);
        Assert.InRange(clock.Elapsed, TimeSpan.FromMilliseconds(150), TimeSpan.FromSeconds(5));
        // The silent server received the ClientHello and then the end of the connection.
        using var drain = new CancellationTokenSource(Limit);
        var received = new MemoryStream();
        var buffer = new byte[4096];
        int read;
        while ((read = await silent.ReceiveAsync(buffer, drain.Token)) > 0)
        {
            received.Write(buffer, 0, read);
        }

        Assert.Equal(22, received.ToArray()[0]);
    }

    [Fact]
    public async Task Cancelling_an_accept_with_a_silent_client_throws_promptly()
    {
        await using var pair = await LoopbackPair.CreateAsync();
        using var cancel = new CancellationTokenSource(TimeSpan.FromMilliseconds(200));
        var clock = Stopwatch.StartNew();

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() =>
            PskTls.AcceptServerAsync(pair.Server, KeysOf(NewPsk()), cancel.Token));

        Assert.InRange(clock.Elapsed, TimeSpan.FromMilliseconds(150), TimeSpan.FromSeconds(5));
        Assert.Equal(0, await pair.Client.ReadAtLeastAsync(new byte[1], 1, throwOnEndOfStream: false));
    }

    [Fact]
    public async Task ReadAsync_waits_without_data_can_be_cancelled_and_the_stream_stays_usable()
    {
        await using var pair = await LoopbackPair.CreateAsync();
        using var timeout = new CancellationTokenSource(Limit);
        var psk = NewPsk();
        var serverTask = PskTls.AcceptServerAsync(pair.Server, KeysOf(psk), timeout.Token);
        await using var client = await PskTls.ConnectClientAsync(pair.Client, psk, timeout.Token);
        await using var server = await serverTask;
        var buffer = new byte[64];

        using (var cancel = new CancellationTokenSource(TimeSpan.FromMilliseconds(100)))
        {
            await Assert.ThrowsAnyAsync<OperationCanceledException>(async () => await client.ReadAtLeastAsync(buffer, 1, cancellationToken: cancel.Token));
        }

        server.Write("still here"u8);
        var read = await client.ReadAtLeastAsync(buffer, 10, cancellationToken: timeout.Token);
        Assert.Equal("still here", Encoding.ASCII.GetString(buffer, 0, read));
    }

    [Fact]
    public async Task Dispose_sends_close_notify_and_the_peer_reads_end_of_stream()
    {
        await using var pair = await LoopbackPair.CreateAsync();
        using var timeout = new CancellationTokenSource(Limit);
        var psk = NewPsk();
        var serverTask = PskTls.AcceptServerAsync(pair.Server, KeysOf(psk), timeout.Token);
        var client = await PskTls.ConnectClientAsync(pair.Client, psk, timeout.Token);
        await using var server = await serverTask;

        await client.WriteAsync("last words"u8.ToArray(), timeout.Token);
        await client.DisposeAsync();

        var text = new byte[10];
        await server.ReadExactlyAsync(text, timeout.Token);
        Assert.Equal("last words", Encoding.ASCII.GetString(text));
        Assert.Equal(0, await server.ReadAtLeastAsync(new byte[1], 1, throwOnEndOfStream: false, timeout.Token));
        Assert.False(client.CanWrite);
        Assert.Throws<ObjectDisposedException>(() => client.Write([1]));
    }

    [Fact]
    public async Task Dispose_after_the_peer_vanished_does_not_throw()
    {
        await using var pair = await LoopbackPair.CreateAsync();
        using var timeout = new CancellationTokenSource(Limit);
        var psk = NewPsk();
        var serverTask = PskTls.AcceptServerAsync(pair.Server, KeysOf(psk), timeout.Token);
        var client = await PskTls.ConnectClientAsync(pair.Client, psk, timeout.Token);
        var server = await serverTask;

        // The peer disappears with a reset, without close_notify.
        pair.Server.Socket.LingerState = new LingerOption(true, 0);
        pair.Server.Socket.Close();
        var error = await Record.ExceptionAsync(async () =>
        {
            for (var i = 0; i < 100; i++)
            {
                await client.WriteAsync(new byte[64 << 10], timeout.Token);
            }
        });

        Assert.IsAssignableFrom<IOException>(error);
        client.Dispose();
        client.Dispose();
        await server.DisposeAsync();
    }

    [Fact]
    public async Task Descriptions_of_the_connection_never_contain_the_key()
    {
        await using var pair = await LoopbackPair.CreateAsync();
        using var timeout = new CancellationTokenSource(Limit);
        var hexKey = TestKeys.NewHexKey();
        var psk = NbdTlsPsk.FromHex(Identity, hexKey);
        var serverTask = PskTls.AcceptServerAsync(pair.Server, KeysOf(psk), timeout.Token);
        await using var client = await PskTls.ConnectClientAsync(pair.Client, psk, timeout.Token);
        await using var server = await serverTask;

        var text = client + " " + server + " " + psk + " " + new PskKeyMaterial(psk);
        Assert.Contains("TLS 1.3 TLS_AES_128_GCM_SHA256, identity 'alice'", text, StringComparison.Ordinal);
        TestKeys.AssertNoKeyIn(text, hexKey);
    }

    // ---- helpers ----

    private static async Task<(PskTlsStream Client, PskTlsStream Server)> RoundTripBothWaysAsync(
        PskTlsOptions clientOptions, PskTlsOptions serverOptions, int size)
    {
        await using var pair = await LoopbackPair.CreateAsync();
        using var timeout = new CancellationTokenSource(Limit);
        var psk = NewPsk();
        var serverTask = PskTls.AcceptServerAsync(pair.Server, KeysOf(psk), serverOptions, timeout.Token);
        var client = await PskTls.ConnectClientAsync(pair.Client, psk, clientOptions, timeout.Token);
        var server = await serverTask;

        var upload = RandomNumberGenerator.GetBytes(size);
        var download = RandomNumberGenerator.GetBytes(size);
        var chunks = ChunkSizes(size, seed: 7);

        // Client: asynchronous reads and writes; server: synchronous ones on threads of their own.
        var clientWrites = Task.Run(async () =>
        {
            var offset = 0;
            foreach (var chunk in chunks)
            {
                await client.WriteAsync(upload.AsMemory(offset, chunk), timeout.Token);
                offset += chunk;
            }
        });
        var clientReads = Task.Run(async () =>
        {
            using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
            var buffer = new byte[100_000];
            for (var total = 0; total < size;)
            {
                var read = await client.ReadAsync(buffer.AsMemory(0, Math.Min(buffer.Length, size - total)), timeout.Token);
                Assert.NotEqual(0, read);
                hash.AppendData(buffer, 0, read);
                total += read;
            }

            return hash.GetHashAndReset();
        });
        var serverWrites = Task.Factory.StartNew(() =>
        {
            var offset = 0;
            foreach (var chunk in ChunkSizes(size, seed: 11))
            {
                server.Write(download.AsSpan(offset, chunk));
                offset += chunk;
            }
        }, CancellationToken.None, TaskCreationOptions.LongRunning, TaskScheduler.Default);
        var serverReads = Task.Factory.StartNew(() =>
        {
            using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
            var buffer = new byte[70_000];
            for (var total = 0; total < size;)
            {
                var read = server.Read(buffer, 0, Math.Min(buffer.Length, size - total));
                Assert.NotEqual(0, read);
                hash.AppendData(buffer, 0, read);
                total += read;
            }

            return hash.GetHashAndReset();
        }, CancellationToken.None, TaskCreationOptions.LongRunning, TaskScheduler.Default);

        await Task.WhenAll(clientWrites, clientReads, serverWrites, serverReads).WaitAsync(timeout.Token);

        Assert.Equal(SHA256.HashData(upload), await serverReads);
        Assert.Equal(SHA256.HashData(download), await clientReads);
        await client.DisposeAsync();
        await server.DisposeAsync();
        return (client, server);
    }

    /// <summary>Write sizes from one byte to several MiB, including the record-boundary cases.</summary>
    private static List<int> ChunkSizes(int total, int seed)
    {
        var random = new Random(seed);
        int[] fixedSizes = [1, 16383, 16384, 16385, 2 << 20, 100];
        var sizes = new List<int>();
        var remaining = total;
        for (var i = 0; remaining > 0; i++)
        {
            var size = Math.Min(remaining, i < fixedSizes.Length ? fixedSizes[i] : random.Next(1, 3 << 20));
            sizes.Add(size);
            remaining -= size;
        }

        return sizes;
    }

    private static async Task<(NbdTlsException Client, NbdTlsException Server, string[] Keys)> HandshakeWithWrongKeyAsync(PskTlsOptions options)
    {
        await using var pair = await LoopbackPair.CreateAsync();
        using var timeout = new CancellationTokenSource(Limit);
        var serverKey = TestKeys.NewHexKey();
        var clientKey = TestKeys.NewHexKey();
        var serverTask = PskTls.AcceptServerAsync(pair.Server, KeysOf(NbdTlsPsk.FromHex(Identity, serverKey)), options, timeout.Token);

        var clientError = await Assert.ThrowsAsync<NbdTlsException>(() =>
            PskTls.ConnectClientAsync(pair.Client, NbdTlsPsk.FromHex(Identity, clientKey), options, timeout.Token));
        var serverError = await Assert.ThrowsAsync<NbdTlsException>(() => serverTask);
        return (clientError, serverError, [serverKey, clientKey]);
    }

    private static NbdTlsPsk NewPsk(string identity = Identity) => new(identity, RandomNumberGenerator.GetBytes(32));

    private static Func<string, NbdTlsPsk?> KeysOf(NbdTlsPsk psk) => name => name == psk.Identity ? psk : null;

    private static async Task<byte[]> ReadRecordAsync(Stream stream, CancellationToken cancellationToken)
    {
        var header = new byte[5];
        await stream.ReadExactlyAsync(header, cancellationToken);
        var record = new byte[5 + BinaryPrimitives.ReadUInt16BigEndian(header.AsSpan(3))];
        header.CopyTo(record, 0);
        await stream.ReadExactlyAsync(record.AsMemory(5), cancellationToken);
        return record;
    }

    private static List<int> RecordLengths(ReadOnlySpan<byte> wire)
    {
        var lengths = new List<int>();
        while (wire.Length >= 5)
        {
            Assert.Equal(23, wire[0]); // TLS 1.3: every protected record is application_data on the wire
            var length = BinaryPrimitives.ReadUInt16BigEndian(wire[3..]);
            lengths.Add(length);
            wire = wire[(5 + length)..];
        }

        Assert.True(wire.IsEmpty);
        return lengths;
    }

    /// <summary>A TLS 1.0 ServerHello choosing TLS_PSK_WITH_AES_128_CBC_SHA, as a pre-1.2 server would send.</summary>
    private static byte[] Tls10ServerHello()
    {
        var body = new List<byte> { 0x03, 0x01 };       // server_version TLS 1.0
        body.AddRange(RandomNumberGenerator.GetBytes(32));
        body.Add(0);                                    // empty session id
        body.AddRange([0x00, 0x8C]);                    // TLS_PSK_WITH_AES_128_CBC_SHA
        body.Add(0);                                    // null compression
        byte[] handshake = [2, 0, 0, (byte)body.Count, .. body];
        return [22, 0x03, 0x01, 0, (byte)handshake.Length, .. handshake];
    }

    private sealed record ClientHello(int LegacyVersion, List<int> CipherSuites, List<int> SupportedVersions,
        string? PskIdentity, List<int> PskKeyExchangeModes, bool HasKeyShare);

    private static ClientHello ParseClientHello(byte[] record)
    {
        Assert.Equal(22, record[0]);
        var body = record.AsSpan(5);
        Assert.Equal(1, body[0]); // client_hello
        var p = body[4..];
        var legacyVersion = BinaryPrimitives.ReadUInt16BigEndian(p);
        p = p[(2 + 32)..];
        p = p[(1 + p[0])..]; // legacy_session_id
        var suitesLength = BinaryPrimitives.ReadUInt16BigEndian(p);
        var suites = new List<int>();
        for (var i = 0; i < suitesLength; i += 2)
        {
            suites.Add(BinaryPrimitives.ReadUInt16BigEndian(p[(2 + i)..]));
        }

        p = p[(2 + suitesLength)..];
        p = p[(1 + p[0])..]; // compression methods
        var extensions = p.Slice(2, BinaryPrimitives.ReadUInt16BigEndian(p));
        var versions = new List<int>();
        var modes = new List<int>();
        string? identity = null;
        var keyShare = false;
        while (!extensions.IsEmpty)
        {
            var type = BinaryPrimitives.ReadUInt16BigEndian(extensions);
            var data = extensions.Slice(4, BinaryPrimitives.ReadUInt16BigEndian(extensions[2..]));
            switch (type)
            {
                case 43: // supported_versions
                    for (var i = 1; i < 1 + data[0]; i += 2)
                    {
                        versions.Add(BinaryPrimitives.ReadUInt16BigEndian(data[i..]));
                    }

                    break;
                case 41: // pre_shared_key: identities<7..2^16-1>, first identity
                    identity = Encoding.UTF8.GetString(data.Slice(4, BinaryPrimitives.ReadUInt16BigEndian(data[2..])));
                    break;
                case 45: // psk_key_exchange_modes
                    foreach (var mode in data.Slice(1, data[0]))
                    {
                        modes.Add(mode);
                    }

                    break;
                case 51: // key_share
                    keyShare = true;
                    break;
            }

            extensions = extensions[(4 + data.Length)..];
        }

        return new ClientHello(legacyVersion, suites, versions, identity, modes, keyShare);
    }

    /// <summary>A BouncyCastle PSK server that only speaks TLS 1.0 and 1.1, like an outdated peer.</summary>
    private sealed class LegacyPskServer(byte[] key) : PskTlsServer(new BcTlsCrypto(), new Keys(key))
    {
        protected override ProtocolVersion[] GetSupportedVersions() => ProtocolVersion.TLSv11.DownTo(ProtocolVersion.TLSv10);

        private sealed class Keys(byte[] key) : TlsPskIdentityManager
        {
            public byte[]? GetHint() => null;

            public byte[] GetPsk(byte[] identity) => key;
        }
    }
}
