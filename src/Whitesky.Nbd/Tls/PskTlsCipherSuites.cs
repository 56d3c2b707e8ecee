using System.Globalization;
using Org.BouncyCastle.Tls;

namespace Whitesky.Nbd.Tls;

/// <summary>The cipher suites the TLS-PSK transport offers, in order of preference, and their names.</summary>
internal static class PskTlsCipherSuites
{
    /// <summary>
    /// TLS 1.3 suites GnuTLS accepts with a SHA-256 external PSK. AES-128-GCM comes first because it runs
    /// on <see cref="System.Security.Cryptography.AesGcm"/>; BouncyCastle's ChaCha20 and CCM are
    /// managed code and several times slower. AES-256-GCM-SHA384 is left out: a SHA-256 PSK cannot use it.
    /// </summary>
    internal static readonly int[] Tls13 =
    [
        CipherSuite.TLS_AES_128_GCM_SHA256,
        CipherSuite.TLS_CHACHA20_POLY1305_SHA256,
        CipherSuite.TLS_AES_128_CCM_SHA256,
    ];

    /// <summary>
    /// TLS 1.2 fallback: AEAD PSK suites, forward-secret key exchanges first (ECDHE_PSK with AES-GCM
    /// exists in BouncyCastle though not in GnuTLS; DHE_PSK with AES-GCM is the one GnuTLS picks).
    /// </summary>
    internal static readonly int[] Tls12 =
    [
        CipherSuite.TLS_ECDHE_PSK_WITH_AES_128_GCM_SHA256,
        CipherSuite.TLS_DHE_PSK_WITH_AES_128_GCM_SHA256,
        CipherSuite.TLS_ECDHE_PSK_WITH_CHACHA20_POLY1305_SHA256,
        CipherSuite.TLS_DHE_PSK_WITH_CHACHA20_POLY1305_SHA256,
        CipherSuite.TLS_PSK_WITH_AES_128_GCM_SHA256,
        CipherSuite.TLS_PSK_WITH_CHACHA20_POLY1305_SHA256,
    ];

    /// <summary>Everything offered by default: the TLS 1.3 suites, then the TLS 1.2 fallback.</summary>
    internal static readonly int[] Default = [.. Tls13, .. Tls12];

    /// <summary>The IANA name of a suite this transport can negotiate (hexadecimal for others).</summary>
    internal static string NameOf(int cipherSuite) => cipherSuite switch
    {
        CipherSuite.TLS_AES_128_GCM_SHA256 => "TLS_AES_128_GCM_SHA256",
        CipherSuite.TLS_AES_256_GCM_SHA384 => "TLS_AES_256_GCM_SHA384",
        CipherSuite.TLS_CHACHA20_POLY1305_SHA256 => "TLS_CHACHA20_POLY1305_SHA256",
        CipherSuite.TLS_AES_128_CCM_SHA256 => "TLS_AES_128_CCM_SHA256",
        CipherSuite.TLS_ECDHE_PSK_WITH_AES_128_GCM_SHA256 => "TLS_ECDHE_PSK_WITH_AES_128_GCM_SHA256",
        CipherSuite.TLS_DHE_PSK_WITH_AES_128_GCM_SHA256 => "TLS_DHE_PSK_WITH_AES_128_GCM_SHA256",
        CipherSuite.TLS_ECDHE_PSK_WITH_CHACHA20_POLY1305_SHA256 => "TLS_ECDHE_PSK_WITH_CHACHA20_POLY1305_SHA256",
        CipherSuite.TLS_DHE_PSK_WITH_CHACHA20_POLY1305_SHA256 => "TLS_DHE_PSK_WITH_CHACHA20_POLY1305_SHA256",
        CipherSuite.TLS_PSK_WITH_AES_128_GCM_SHA256 => "TLS_PSK_WITH_AES_128_GCM_SHA256",
        CipherSuite.TLS_PSK_WITH_CHACHA20_POLY1305_SHA256 => "TLS_PSK_WITH_CHACHA20_POLY1305_SHA256",
        _ => "0x" + cipherSuite.ToString("X4", CultureInfo.InvariantCulture),
    };
}
