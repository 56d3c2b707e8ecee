using System.Security.Cryptography;
using Org.BouncyCastle.Security;
using Org.BouncyCastle.Tls.Crypto;
using Org.BouncyCastle.Tls.Crypto.Impl;
using Org.BouncyCastle.Tls.Crypto.Impl.BC;

namespace Whitesky.Nbd.Tls;

/// <summary>
/// BouncyCastle's TLS crypto with the AES-GCM record ciphers moved onto .NET's <see cref="AesGcm"/>
/// (<see cref="AesGcmTlsCipher"/>); everything else (key exchange, HKDF, PRF, ChaCha20, CCM) stays
/// BouncyCastle's. One instance serves one connection: it knows the connection's transport, so that
/// records can be encrypted into its write batch, and counts the records it protected.
/// </summary>
internal sealed class AesGcmTlsCrypto : BcTlsCrypto
{
    private readonly TlsRecordTransport? _transport;
    private readonly List<AesGcmTlsCipher> _ciphers = [];
    private long _recordsSealed;
    private long _recordsOpened;

    /// <summary>Creates the crypto for one connection over <paramref name="transport"/> (null: no write batching).</summary>
    internal AesGcmTlsCrypto(TlsRecordTransport? transport)
        : base(new SecureRandom())
    {
        _transport = transport;
    }

    /// <summary>Whether this platform has a hardware-backed <see cref="AesGcm"/>; when not, BouncyCastle's GCM is used.</summary>
    internal static bool IsSupported => AesGcm.IsSupported;

    /// <summary>Records encrypted through <see cref="AesGcm"/> on this connection (handshake and application data).</summary>
    internal long RecordsSealed => Interlocked.Read(ref _recordsSealed);

    /// <summary>Records decrypted through <see cref="AesGcm"/> on this connection.</summary>
    internal long RecordsOpened => Interlocked.Read(ref _recordsOpened);

    /// <inheritdoc />
    protected override TlsAeadCipher CreateCipher_Aes_Gcm(TlsCryptoParameters cryptoParams, int cipherKeySize, int macSize)
    {
        if (!IsSupported || macSize != AesGcmCipherImpl.TagSize)
        {
            return base.CreateCipher_Aes_Gcm(cryptoParams, cipherKeySize, macSize);
        }

        var cipher = new AesGcmTlsCipher(cryptoParams, new AesGcmCipherImpl(encrypting: true),
            new AesGcmCipherImpl(encrypting: false), cipherKeySize, this, _transport);
        lock (_ciphers)
        {
            _ciphers.Add(cipher);
        }

        return cipher;
    }

    internal void CountSealed() => Interlocked.Increment(ref _recordsSealed);

    internal void CountOpened() => Interlocked.Increment(ref _recordsOpened);

    /// <summary>Releases the native contexts of every cipher this connection created (at close).</summary>
    internal void ReleaseCiphers()
    {
        lock (_ciphers)
        {
            foreach (var cipher in _ciphers)
            {
                cipher.Release();
            }

            _ciphers.Clear();
        }
    }
}
