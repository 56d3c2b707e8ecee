using System.Security.Cryptography;
using System.Text;
using Org.BouncyCastle.Tls;

namespace Whitesky.Nbd.Tls;

/// <summary>
/// A private copy of a PSK's identity and key bytes for the duration of one handshake, in the form
/// BouncyCastle's TLS 1.2 PSK key exchange asks for (<see cref="TlsPskIdentity"/>). The key copy is
/// zeroed when the handshake is over; it never reaches a message or a log.
/// </summary>
internal sealed class PskKeyMaterial : TlsPskIdentity, IDisposable
{
    private readonly byte[] _identity;
    private readonly byte[] _key;

    /// <summary>Copies the identity (UTF-8) and the key of <paramref name="psk"/>.</summary>
    internal PskKeyMaterial(NbdTlsPsk psk)
    {
        ArgumentNullException.ThrowIfNull(psk);
        Identity = psk.Identity;
        _identity = Encoding.UTF8.GetBytes(psk.Identity);
        _key = psk.Key.ToArray();
    }

    /// <summary>The identity as text (not secret; it travels in clear in the ClientHello).</summary>
    internal string Identity { get; }

    /// <summary>The identity bytes sent on the wire.</summary>
    internal byte[] IdentityBytes => _identity;

    /// <summary>The key bytes; valid until <see cref="Dispose"/>.</summary>
    internal byte[] Key => _key;

    /// <inheritdoc />
    public void SkipIdentityHint()
    {
    }

    /// <inheritdoc />
    public void NotifyIdentityHint(byte[] psk_identity_hint)
    {
    }

    /// <inheritdoc />
    public byte[] GetPskIdentity() => _identity;

    /// <inheritdoc />
    public byte[] GetPsk() => _key;

    /// <summary>Zeroes the key copy.</summary>
    public void Dispose() => CryptographicOperations.ZeroMemory(_key);

    /// <summary>Names the identity, never the key.</summary>
    public override string ToString() => $"TLS-PSK identity '{Identity}' (key redacted)";
}
