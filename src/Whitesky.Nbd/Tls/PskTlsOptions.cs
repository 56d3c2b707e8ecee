using Org.BouncyCastle.Tls;

namespace Whitesky.Nbd.Tls;

/// <summary>
/// Tuning of the TLS-PSK transport, for tests and benchmarks; <see cref="Default"/> is what
/// <see cref="PskTls"/> uses. Versions below TLS 1.2 are refused whatever is configured here.
/// </summary>
internal sealed record PskTlsOptions
{
    /// <summary>TLS 1.3 and 1.2, the default suites, AES-GCM on .NET, eight-record write batches.</summary>
    internal static PskTlsOptions Default { get; } = new();

    /// <summary>Protocol versions offered (client) or accepted (server), newest first.</summary>
    internal ProtocolVersion[] Versions { get; init; } = ProtocolVersion.TLSv13.DownTo(ProtocolVersion.TLSv12);

    /// <summary>Cipher suites in order of preference (see <see cref="PskTlsCipherSuites"/>).</summary>
    internal int[] CipherSuites { get; init; } = PskTlsCipherSuites.Default;

    /// <summary>Run AES-GCM records on <see cref="System.Security.Cryptography.AesGcm"/> (true) or on BouncyCastle's managed GCM.</summary>
    internal bool UseDotNetAesGcm { get; init; } = true;

    /// <summary>Bytes of records collected before a socket write while the application writes.</summary>
    internal int WriteBatchSize { get; init; } = TlsRecordTransport.DefaultWriteBatchSize;

    /// <summary>The configured versions, checked: TLS only, none older than 1.2.</summary>
    internal ProtocolVersion[] CheckedVersions()
    {
        if (Versions is not { Length: > 0 })
        {
            throw new InvalidOperationException("At least one TLS version must be enabled.");
        }

        foreach (var version in Versions)
        {
            if (!version.IsTls || !ProtocolVersion.TLSv12.IsEqualOrEarlierVersionOf(version))
            {
                throw new InvalidOperationException($"{version} is not allowed: the TLS-PSK transport requires TLS 1.2 or newer.");
            }
        }

        return Versions;
    }
}
