using Org.BouncyCastle.Tls;
using Org.BouncyCastle.Tls.Crypto;

namespace Whitesky.Nbd.Tls;

/// <summary>
/// The client side of a TLS-PSK handshake: offers TLS 1.3 with the key as an external PSK
/// (<see cref="BasicTlsPskExternal"/>, SHA-256, with an ephemeral key share) and TLS 1.2 PSK suites
/// as the fallback, and never anything older than TLS 1.2 (<see cref="PskTlsClient"/> defaults to
/// TLS 1.2 only; nbdkit would accept 1.0 and 1.1).
/// </summary>
internal sealed class PskTlsClientPeer : PskTlsClient
{
    private readonly PskKeyMaterial _key;
    private readonly PskTlsOptions _options;
    private TlsSecret? _externalPskSecret;

    /// <summary>Creates the client for one handshake with <paramref name="key"/>.</summary>
    internal PskTlsClientPeer(TlsCrypto crypto, PskKeyMaterial key, PskTlsOptions options)
        : base(crypto, key)
    {
        _key = key;
        _options = options;
    }

    /// <summary>The version the server chose in its ServerHello, once one arrived (for error reports).</summary>
    internal ProtocolVersion? ServerHelloVersion { get; private set; }

    /// <summary>The negotiated protocol version, once the handshake completed.</summary>
    internal ProtocolVersion? NegotiatedVersion { get; private set; }

    /// <summary>The negotiated cipher suite, once the handshake completed.</summary>
    internal int NegotiatedCipherSuite { get; private set; } = -1;

    /// <inheritdoc />
    protected override ProtocolVersion[] GetSupportedVersions() => _options.CheckedVersions();

    /// <inheritdoc />
    protected override int[] GetSupportedCipherSuites() =>
        TlsUtilities.GetSupportedCipherSuites(Crypto, _options.CipherSuites);

    /// <inheritdoc />
    public override IList<TlsPskExternal> GetExternalPsks()
    {
        // Asked once per ClientHello (again after a HelloRetryRequest); the secret is destroyed after the handshake.
        _externalPskSecret ??= Crypto.CreateSecret(_key.Key);
        return [new BasicTlsPskExternal(_key.IdentityBytes, _externalPskSecret, PrfAlgorithm.tls13_hkdf_sha256)];
    }

    /// <inheritdoc />
    public override void NotifyServerVersion(ProtocolVersion serverVersion)
    {
        // BouncyCastle already refuses versions it did not offer; this states the rule where it matters.
        if (!ProtocolVersion.TLSv12.IsEqualOrEarlierVersionOf(serverVersion))
        {
            throw new TlsFatalAlert(AlertDescription.protocol_version, "The server chose a TLS version older than 1.2.");
        }

        base.NotifyServerVersion(serverVersion);
        ServerHelloVersion = serverVersion;
    }

    /// <summary>
    /// NBD frames every message, so a peer that closes the TCP connection without close_notify cannot
    /// truncate data unnoticed; such a close reads as end of stream instead of an exception.
    /// </summary>
    public override bool RequiresCloseNotify() => false;

    /// <inheritdoc />
    public override void NotifyHandshakeComplete()
    {
        base.NotifyHandshakeComplete();
        var parameters = m_context.SecurityParameters;
        NegotiatedVersion = parameters.NegotiatedVersion;
        NegotiatedCipherSuite = parameters.CipherSuite;
    }

    /// <summary>Destroys the copy of the key BouncyCastle holds for TLS 1.3.</summary>
    internal void DestroySecrets()
    {
        _externalPskSecret?.Destroy();
        _externalPskSecret = null;
    }
}
