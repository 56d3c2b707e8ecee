using Org.BouncyCastle.Tls;
using Org.BouncyCastle.Tls.Crypto;
using Org.BouncyCastle.Tls.Crypto.Impl.BC;

namespace Whitesky.Nbd.Tls;

/// <summary>
/// TLS with a pre-shared key over an already connected stream, as NBD's <c>NBD_OPT_STARTTLS</c>
/// upgrade needs it: TLS 1.3 (external PSK, SHA-256, ephemeral key share) with <c>TLS_AES_128_GCM_SHA256</c>
/// preferred, TLS 1.2 PSK suites as the fallback, nothing older. Built on BouncyCastle, with AES-GCM
/// records on .NET's <see cref="System.Security.Cryptography.AesGcm"/>.
/// </summary>
internal static class PskTls
{
    /// <summary>
    /// Runs the client handshake over <paramref name="transport"/> (connected, just after the server
    /// acknowledged <c>NBD_OPT_STARTTLS</c>) and returns the decrypted application-data stream, which owns
    /// the transport from then on.
    /// </summary>
    /// <exception cref="NbdTlsException">
    /// <see cref="NbdTlsFailure.AuthenticationFailed"/> when the key or the identity is wrong (or unknown to
    /// the server); <see cref="NbdTlsFailure.HandshakeFailed"/> for every other failure (no common version or
    /// cipher suite, a server older than TLS 1.2, a broken connection). The transport is closed.
    /// </exception>
    /// <exception cref="OperationCanceledException">The token was cancelled; the transport is closed.</exception>
    public static async Task<Stream> ConnectClientAsync(Stream transport, NbdTlsPsk psk, CancellationToken cancellationToken) =>
        await ConnectClientAsync(transport, psk, PskTlsOptions.Default, cancellationToken).ConfigureAwait(false);

    /// <summary>
    /// Runs the server handshake over <paramref name="transport"/>, looking the client's identity up
    /// through <paramref name="keys"/> (null: unknown identity, the handshake fails), and returns the
    /// decrypted application-data stream, which owns the transport from then on.
    /// </summary>
    /// <exception cref="NbdTlsException">
    /// <see cref="NbdTlsFailure.AuthenticationFailed"/> when the client's identity is unknown or its key does
    /// not match; <see cref="NbdTlsFailure.HandshakeFailed"/> otherwise. The transport is closed.
    /// </exception>
    /// <exception cref="OperationCanceledException">The token was cancelled; the transport is closed.</exception>
    public static async Task<Stream> AcceptServerAsync(Stream transport, Func<string, NbdTlsPsk?> keys, CancellationToken cancellationToken) =>
        await AcceptServerAsync(transport, keys, PskTlsOptions.Default, cancellationToken).ConfigureAwait(false);

    /// <summary><see cref="ConnectClientAsync(Stream, NbdTlsPsk, CancellationToken)"/> with explicit options.</summary>
    internal static async Task<PskTlsStream> ConnectClientAsync(Stream transport, NbdTlsPsk psk, PskTlsOptions options,
        CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(transport);
        ArgumentNullException.ThrowIfNull(psk);
        ArgumentNullException.ThrowIfNull(options);
        options.CheckedVersions();
        cancellationToken.ThrowIfCancellationRequested();

        var recordTransport = new TlsRecordTransport(transport, options.WriteBatchSize);
        var (crypto, aesGcm) = CreateCrypto(recordTransport, options);
        using var key = new PskKeyMaterial(psk);
        var client = new PskTlsClientPeer(crypto, key, options);
        var protocol = new TlsClientProtocol(recordTransport);
        await HandshakeAsync(() => protocol.Connect(client), recordTransport, aesGcm,
            e => ClientFailure(e, psk.Identity, recordTransport.SawEndOfStream, client.ServerHelloVersion),
            client.DestroySecrets, cancellationToken).ConfigureAwait(false);

        return new PskTlsStream(protocol, recordTransport, aesGcm, client.NegotiatedVersion!, client.NegotiatedCipherSuite, psk.Identity);
    }

    /// <summary><see cref="AcceptServerAsync(Stream, Func{string, NbdTlsPsk}, CancellationToken)"/> with explicit options.</summary>
    internal static async Task<PskTlsStream> AcceptServerAsync(Stream transport, Func<string, NbdTlsPsk?> keys, PskTlsOptions options,
        CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(transport);
        ArgumentNullException.ThrowIfNull(keys);
        ArgumentNullException.ThrowIfNull(options);
        options.CheckedVersions();
        cancellationToken.ThrowIfCancellationRequested();

        var recordTransport = new TlsRecordTransport(transport, options.WriteBatchSize);
        var (crypto, aesGcm) = CreateCrypto(recordTransport, options);
        var server = new PskTlsServerPeer(crypto, keys, options);
        var protocol = new TlsServerProtocol(recordTransport);
        await HandshakeAsync(() => protocol.Accept(server), recordTransport, aesGcm,
            e => ServerFailure(e, server.OfferedIdentity), server.DestroySecrets, cancellationToken).ConfigureAwait(false);

        return new PskTlsStream(protocol, recordTransport, aesGcm, server.NegotiatedVersion!, server.NegotiatedCipherSuite,
            server.ClientIdentity ?? string.Empty);
    }

    /// <summary>
    /// Either side's handshake: on failure the transport is closed and the error mapped by <paramref name="failure"/>;
    /// on cancellation the ciphers are released; the peer's secrets are wiped either way.
    /// </summary>
    private static async Task HandshakeAsync(Action handshake, TlsRecordTransport transport, AesGcmTlsCrypto? aesGcm,
        Func<Exception, Exception> failure, Action destroySecrets, CancellationToken cancellationToken)
    {
        try
        {
            await RunHandshakeAsync(handshake, transport, cancellationToken).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
            aesGcm?.ReleaseCiphers();
            throw;
        }
        catch (Exception e)
        {
            transport.Dispose();
            aesGcm?.ReleaseCiphers();
            throw failure(e);
        }
        finally
        {
            destroySecrets();
        }
    }

    private static (TlsCrypto Crypto, AesGcmTlsCrypto? AesGcm) CreateCrypto(TlsRecordTransport transport, PskTlsOptions options)
    {
        if (options.UseDotNetAesGcm && AesGcmTlsCrypto.IsSupported)
        {
            var crypto = new AesGcmTlsCrypto(transport);
            return (crypto, crypto);
        }

        return (new BcTlsCrypto(), null);
    }

    /// <summary>
    /// Runs BouncyCastle's blocking handshake on a dedicated thread (it waits on the network; a pool thread
    /// would be held for the peer's round trips). Cancellation closes the transport, which makes the blocked
    /// handshake fail at once; that failure becomes <see cref="OperationCanceledException"/>.
    /// </summary>
    private static async Task RunHandshakeAsync(Action handshake, TlsRecordTransport transport, CancellationToken cancellationToken)
    {
        var registration = cancellationToken.Register(static state => ((TlsRecordTransport)state!).Abort(), transport);
        try
        {
            await Task.Factory.StartNew(handshake, CancellationToken.None, TaskCreationOptions.LongRunning, TaskScheduler.Default)
                .ConfigureAwait(false);
        }
        catch (Exception e) when (transport.IsAborted || cancellationToken.IsCancellationRequested)
        {
            await registration.DisposeAsync().ConfigureAwait(false);
            transport.Dispose();
            throw new OperationCanceledException("The TLS handshake was cancelled.", e, cancellationToken);
        }

        // Waits for a cancellation callback that is running, so a handshake that finished just as the token
        // fired cannot hand out a stream whose transport is being closed.
        await registration.DisposeAsync().ConfigureAwait(false);
        if (transport.IsAborted)
        {
            transport.Dispose();
            throw new OperationCanceledException("The TLS handshake was cancelled.", cancellationToken);
        }
    }

    /// <summary>Turns a failed client handshake into an <see cref="NbdTlsException"/> that says what to check.</summary>
    /// <param name="error">What BouncyCastle (or the transport) threw.</param>
    /// <param name="identity">The PSK identity offered (not secret).</param>
    /// <param name="peerClosed">Whether the server closed the connection during the handshake.</param>
    /// <param name="serverHelloVersion">The version of the server's ServerHello, if one arrived.</param>
    internal static NbdTlsException ClientFailure(Exception error, string identity, bool peerClosed, ProtocolVersion? serverHelloVersion)
    {
        var (received, alert) = AlertOf(error);
        if (peerClosed && !received && alert is null or AlertDescription.handshake_failure)
        {
            return ClosedWithoutAlert(error, identity, serverHelloVersion);
        }

        if (alert is null)
        {
            return new NbdTlsException(NbdTlsFailure.HandshakeFailed,
                $"The TLS-PSK handshake for identity '{identity}' failed: {NbdException.Sanitize(error.Message)}", error);
        }

        var name = AlertDescription.GetText(alert.Value);
        return (received, alert.Value) switch
        {
            (true, AlertDescription.unknown_psk_identity) => new NbdTlsException(NbdTlsFailure.AuthenticationFailed,
                $"The server does not know the TLS-PSK identity '{identity}' (alert {name}): check the identity (the user name of the PSK file entry).", error),
            (true, AlertDescription.decrypt_error) => new NbdTlsException(NbdTlsFailure.AuthenticationFailed,
                $"The server could not verify the TLS-PSK handshake for identity '{identity}' (alert {name}): the key is probably wrong, or the identity unknown to the server.", error),
            (true, AlertDescription.bad_record_mac) => new NbdTlsException(NbdTlsFailure.AuthenticationFailed,
                $"The server could not decrypt the TLS-PSK handshake for identity '{identity}' (alert {name}): the key is probably wrong, or the identity unknown to the server.", error),
            (true, AlertDescription.handshake_failure) => new NbdTlsException(NbdTlsFailure.AuthenticationFailed,
                $"The server refused the TLS-PSK handshake for identity '{identity}' (alert {name}): the identity is probably unknown to the server or the key wrong (less likely: no cipher suite in common).", error),
            (true, AlertDescription.access_denied) => new NbdTlsException(NbdTlsFailure.AuthenticationFailed,
                $"The server denied access to TLS-PSK identity '{identity}' (alert {name}).", error),
            (false, AlertDescription.bad_record_mac) or (false, AlertDescription.decrypt_error) => new NbdTlsException(NbdTlsFailure.AuthenticationFailed,
                $"The server's TLS-PSK handshake for identity '{identity}' did not verify with this key (alert {name}): the key is probably wrong.", error),
            (true, AlertDescription.protocol_version) => new NbdTlsException(NbdTlsFailure.HandshakeFailed,
                $"The server supports neither TLS 1.3 nor TLS 1.2 (alert {name}); this client refuses older versions.", error),
            (false, AlertDescription.protocol_version) => new NbdTlsException(NbdTlsFailure.HandshakeFailed,
                $"The server chose a TLS version older than 1.2, which this client refuses (alert {name} sent to the server).", error),
            (true, AlertDescription.insufficient_security) => new NbdTlsException(NbdTlsFailure.HandshakeFailed,
                $"The server shares no acceptable TLS-PSK cipher suite with this client (alert {name}).", error),
            (true, _) => new NbdTlsException(NbdTlsFailure.HandshakeFailed,
                $"The server aborted the TLS-PSK handshake for identity '{identity}' with alert {name}.", error),
            (false, _) => new NbdTlsException(NbdTlsFailure.HandshakeFailed,
                $"The TLS-PSK handshake for identity '{identity}' failed: this client raised alert {name} ({NbdException.Sanitize(error.Message)}).", error),
        };
    }

    /// <summary>
    /// GnuTLS servers (nbdkit, qemu-nbd) send no alert when they reject a PSK: they close the connection.
    /// TLS 1.3 rejects the PSK binder of the ClientHello (so no ServerHello ever arrives); TLS 1.2 fails to
    /// decrypt the client's Finished, the first message protected by keys derived from the PSK.
    /// </summary>
    private static NbdTlsException ClosedWithoutAlert(Exception error, string identity, ProtocolVersion? serverHelloVersion)
    {
        if (serverHelloVersion is null)
        {
            return new NbdTlsException(NbdTlsFailure.AuthenticationFailed,
                $"The server closed the connection without a TLS alert in answer to the ClientHello for identity '{identity}'. " +
                "GnuTLS servers (nbdkit, qemu-nbd) do this when the PSK binder does not verify: the key is probably wrong or the identity " +
                "unknown to the server (less likely: the server allows no TLS 1.3/1.2 PSK cipher suite).", error);
        }

        if (!TlsUtilities.IsTlsV13(serverHelloVersion))
        {
            return new NbdTlsException(NbdTlsFailure.AuthenticationFailed,
                $"The server closed the connection without a TLS alert after the {serverHelloVersion.Name} PSK key exchange for identity '{identity}'. " +
                "GnuTLS servers (nbdkit, qemu-nbd) do this when they cannot decrypt the client's Finished message: the key is probably wrong " +
                "or the identity unknown to the server.", error);
        }

        return new NbdTlsException(NbdTlsFailure.HandshakeFailed,
            $"The server closed the connection during the {serverHelloVersion.Name} handshake for identity '{identity}' without saying why.", error);
    }

    /// <summary>Turns a failed server handshake into an <see cref="NbdTlsException"/>.</summary>
    internal static NbdTlsException ServerFailure(Exception error, string? offeredIdentity)
    {
        var who = offeredIdentity is null ? "the client" : $"the client (identity '{NbdException.Sanitize(offeredIdentity)}')";
        var (received, alert) = AlertOf(error);
        if (alert is null)
        {
            return new NbdTlsException(NbdTlsFailure.HandshakeFailed,
                $"The TLS-PSK handshake with {who} failed: {NbdException.Sanitize(error.Message)}", error);
        }

        var name = AlertDescription.GetText(alert.Value);
        return (received, alert.Value) switch
        {
            (false, AlertDescription.unknown_psk_identity) => new NbdTlsException(NbdTlsFailure.AuthenticationFailed,
                $"TLS-PSK handshake refused: {who} offered no known identity (alert {name}).", error),
            (false, AlertDescription.decrypt_error) or (false, AlertDescription.bad_record_mac) => new NbdTlsException(NbdTlsFailure.AuthenticationFailed,
                $"TLS-PSK handshake refused: the key of {who} does not match (alert {name}).", error),
            (true, AlertDescription.decrypt_error) or (true, AlertDescription.bad_record_mac) => new NbdTlsException(NbdTlsFailure.AuthenticationFailed,
                $"TLS-PSK handshake failed: {who} could not verify this server's key (alert {name}).", error),
            _ => new NbdTlsException(NbdTlsFailure.HandshakeFailed,
                $"The TLS-PSK handshake with {who} failed with alert {name} ({(received ? "sent by the client" : "raised by this server")}).", error),
        };
    }

    private static (bool Received, short? Alert) AlertOf(Exception error)
    {
        for (var e = error; e is not null; e = e.InnerException)
        {
            switch (e)
            {
                case TlsFatalAlertReceived received:
                    return (true, received.AlertDescription);
                case TlsFatalAlert raised:
                    return (false, raised.AlertDescription);
            }
        }

        return (false, null);
    }
}
