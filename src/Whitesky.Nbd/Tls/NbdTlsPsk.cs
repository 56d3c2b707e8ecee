using System.Globalization;
using System.Security.Cryptography;

namespace Whitesky.Nbd;

/// <summary>
/// A TLS pre-shared key: an identity (user name) and the secret key bytes, as nbdkit's
/// <c>--tls-psk</c> files and whitesky's exposed disks use. The key never appears in
/// <see cref="ToString"/>, logs or exception messages.
/// </summary>
public sealed class NbdTlsPsk
{
    private readonly byte[] _key;

    /// <summary>Creates a PSK from an identity and key bytes (the key is copied).</summary>
    public NbdTlsPsk(string identity, ReadOnlySpan<byte> key)
    {
        ArgumentException.ThrowIfNullOrEmpty(identity);
        if (key.IsEmpty)
        {
            throw new ArgumentException("A TLS pre-shared key must not be empty.", nameof(key));
        }

        Identity = identity;
        _key = key.ToArray();
    }

    /// <summary>The PSK identity (sent in clear during the handshake).</summary>
    public string Identity { get; }

    /// <summary>Length of the key in bytes.</summary>
    public int KeyLength => _key.Length;

    internal ReadOnlySpan<byte> Key => _key;

    /// <summary>Creates a PSK from an identity and a hexadecimal key, the form of PSK files.</summary>
    public static NbdTlsPsk FromHex(string identity, string hexKey)
    {
        ArgumentNullException.ThrowIfNull(hexKey);
        byte[] key;
        try
        {
            key = Convert.FromHexString(hexKey.Trim());
        }
        catch (FormatException)
        {
            throw new FormatException(string.Create(CultureInfo.InvariantCulture,
                $"The TLS-PSK key for identity '{identity}' is not hexadecimal ({hexKey.Trim().Length} characters)."));
        }

        try
        {
            return new NbdTlsPsk(identity, key);
        }
        finally
        {
            CryptographicOperations.ZeroMemory(key);
        }
    }

    /// <summary>
    /// Reads a PSK file of <c>identity:hexkey</c> lines (the format of nbdkit, qemu and GnuTLS's
    /// <c>psktool</c>) and returns the entry for <paramref name="identity"/>, or the first entry
    /// when no identity is given.
    /// </summary>
    /// <exception cref="FileNotFoundException">The file does not exist.</exception>
    /// <exception cref="FormatException">The file has no usable entry; the message names the file and line, never the key.</exception>
    public static NbdTlsPsk FromFile(string path, string? identity = null)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        var lineNumber = 0;
        foreach (var raw in File.ReadLines(path))
        {
            lineNumber++;
            var line = raw.Trim();
            if (line.Length == 0 || line[0] == '#')
            {
                continue;
            }

            var colon = line.LastIndexOf(':');
            if (colon <= 0 || colon == line.Length - 1)
            {
                throw new FormatException(string.Create(CultureInfo.InvariantCulture,
                    $"TLS-PSK file '{path}' line {lineNumber} is not of the form identity:hexkey."));
            }

            var name = line[..colon];
            if (identity is not null && !string.Equals(name, identity, StringComparison.Ordinal))
            {
                continue;
            }

            try
            {
                return FromHex(name, line[(colon + 1)..]);
            }
            catch (FormatException)
            {
                throw new FormatException(string.Create(CultureInfo.InvariantCulture,
                    $"TLS-PSK file '{path}' line {lineNumber}: the key of identity '{name}' is not hexadecimal."));
            }
        }

        throw new FormatException(identity is null
            ? $"TLS-PSK file '{path}' has no identity:hexkey entry."
            : $"TLS-PSK file '{path}' has no entry for identity '{identity}'.");
    }

    /// <summary>Describes the PSK without its key.</summary>
    public override string ToString() =>
        string.Create(CultureInfo.InvariantCulture, $"TLS-PSK identity '{Identity}' ({_key.Length}-byte key, redacted)");
}
