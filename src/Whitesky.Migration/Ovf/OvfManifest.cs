using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using System.Text.RegularExpressions;

namespace Whitesky.Migration.Ovf;

/// <summary>
/// An OVF manifest (<c>.mf</c>): lines <c>SHA256(name)= hex</c>, as ovftool, VMware and VirtualBox write
/// them (with or without a space before <c>=</c>, LF or CRLF line ends; SHA1, SHA256 and SHA512).
/// </summary>
public sealed partial class OvfManifest
{
    private OvfManifest(IReadOnlyList<OvfManifestEntry> entries) => Entries = entries;

    /// <summary>The lines of the manifest, in order.</summary>
    public IReadOnlyList<OvfManifestEntry> Entries { get; }

    /// <summary>The entry for a file, or null.</summary>
    public OvfManifestEntry? Find(string fileName) => Entries.FirstOrDefault(e => e.FileName == fileName);

    /// <summary>Parses manifest text; <paramref name="name"/> names it in errors.</summary>
    /// <exception cref="OvfException">A line is not a digest line, names a path outside the package, or has a digest of the wrong length.</exception>
    public static OvfManifest Parse(string text, string name)
    {
        ArgumentNullException.ThrowIfNull(text);
        if (text.Length > OvfConstants.MaxManifestBytes)
        {
            throw new OvfException(name, "manifest", $"more than {OvfConstants.MaxManifestBytes} characters");
        }

        List<OvfManifestEntry> entries = [];
        var lineNumber = 0;
        foreach (var raw in text.Split('\n'))
        {
            lineNumber++;
            var line = raw.TrimEnd('\r').Trim();
            if (line.Length == 0)
            {
                continue;
            }

            var where = $"line {lineNumber}";
            var match = DigestLine().Match(line);
            if (!match.Success)
            {
                throw new OvfException(name, where, $"'{OvfUnits.Clip(line)}' is not a line of the form SHA256(file)= digest");
            }

            var algorithm = match.Groups[1].Value.ToUpperInvariant();
            var file = match.Groups[2].Value;
            var digest = match.Groups[3].Value.ToLowerInvariant();
            OvfReader.CheckPackagePath(file, name, where);
            var expected = DigestLength(algorithm) * 2;
            if (digest.Length != expected)
            {
                throw new OvfException(name, where, $"a {algorithm} digest has {expected} hex digits, this one {digest.Length}");
            }

            if (entries.Count >= OvfConstants.MaxFiles)
            {
                throw new OvfException(name, where, $"more than {OvfConstants.MaxFiles} entries");
            }

            entries.Add(new OvfManifestEntry(algorithm, file, digest));
        }

        return new OvfManifest(entries);
    }

    /// <summary>Writes a manifest in ovftool's layout (<c>SHA256(name)= hex</c>, LF line ends).</summary>
    public static string Format(IEnumerable<OvfManifestEntry> entries)
    {
        ArgumentNullException.ThrowIfNull(entries);
        var text = new StringBuilder();
        foreach (var e in entries)
        {
            text.Append(CultureInfo.InvariantCulture, $"{e.Algorithm}({e.FileName})= {e.Digest}\n");
        }

        return text.ToString();
    }

    /// <summary>Hashes a stream with an algorithm of the manifest, returning lower-case hex.</summary>
    public static async Task<string> HashAsync(string algorithm, Stream content, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(content);
        using var hash = Create(algorithm);
        var buffer = System.Buffers.ArrayPool<byte>.Shared.Rent(1 << 20);
        try
        {
            int read;
            while ((read = await content.ReadAsync(buffer, cancellationToken).ConfigureAwait(false)) > 0)
            {
                hash.AppendData(buffer, 0, read);
            }
        }
        finally
        {
            System.Buffers.ArrayPool<byte>.Shared.Return(buffer);
        }

        return Convert.ToHexStringLower(hash.GetHashAndReset());
    }

    internal static IncrementalHash Create(string algorithm) => algorithm switch
    {
#pragma warning disable CA5350 // SHA1 manifests are what older VMware tools write; we only verify them.
        "SHA1" => IncrementalHash.CreateHash(HashAlgorithmName.SHA1),
#pragma warning restore CA5350
        "SHA256" => IncrementalHash.CreateHash(HashAlgorithmName.SHA256),
        "SHA512" => IncrementalHash.CreateHash(HashAlgorithmName.SHA512),
        _ => throw new ArgumentException($"'{algorithm}' is not a manifest algorithm (SHA1, SHA256, SHA512)", nameof(algorithm)),
    };

    private static int DigestLength(string algorithm) => algorithm switch
    {
        "SHA1" => 20,
        "SHA256" => 32,
        _ => 64,
    };

    [GeneratedRegex(@"^(SHA1|SHA256|SHA512)\((.+)\)\s*=\s*([0-9A-Fa-f]+)$", RegexOptions.CultureInvariant | RegexOptions.IgnoreCase)]
    private static partial Regex DigestLine();
}
