using System.Globalization;
using Whitesky.Migrate.Cli;
using Whitesky.Nbd;

namespace Whitesky.Migrate.Serve;

/// <summary>
/// Every user of an nbdkit-format PSK file (<c>identity:hexkey</c> lines, as <c>psktool</c> writes them),
/// read once at start-up: the server looks clients' identities up here, and the first identity is the
/// one shown in the URIs printed for clients.
/// </summary>
internal sealed class PskKeyFile
{
    private readonly Dictionary<string, NbdTlsPsk> _keys;

    private PskKeyFile(string path, string firstIdentity, Dictionary<string, NbdTlsPsk> keys)
    {
        Path = path;
        FirstIdentity = firstIdentity;
        _keys = keys;
    }

    /// <summary>The file's absolute path (clients are told this path, and may run elsewhere).</summary>
    public string Path { get; }

    /// <summary>The identity of the file's first entry.</summary>
    public string FirstIdentity { get; }

    /// <summary>Number of identities.</summary>
    public int Count => _keys.Count;

    /// <summary>The key of <paramref name="identity"/>, or null for an identity the file does not hold.</summary>
    public NbdTlsPsk? Find(string identity) => _keys.GetValueOrDefault(identity);

    /// <summary>Reads the file; errors name the file and line, never a key.</summary>
    /// <exception cref="CommandFailedException">The file is missing, unreadable, malformed or empty.</exception>
    public static PskKeyFile Load(string path)
    {
        var fullPath = System.IO.Path.GetFullPath(path);
        if (!File.Exists(fullPath))
        {
            throw new CommandFailedException($"The TLS-PSK file {path} does not exist.");
        }

        string[] lines;
        try
        {
            lines = File.ReadAllLines(fullPath);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            throw new CommandFailedException($"The TLS-PSK file {path} cannot be read: {ex.Message}", ex);
        }

        var keys = new Dictionary<string, NbdTlsPsk>(StringComparer.Ordinal);
        string? first = null;
        for (var i = 0; i < lines.Length; i++)
        {
            var line = lines[i].Trim();
            if (line.Length == 0 || line[0] == '#')
            {
                continue;
            }

            // The key is hexadecimal, so the last colon ends the identity (which may itself hold colons).
            var colon = line.LastIndexOf(':');
            if (colon <= 0 || colon == line.Length - 1)
            {
                throw new CommandFailedException(string.Create(CultureInfo.InvariantCulture,
                    $"The TLS-PSK file {path} line {i + 1} is not of the form identity:hexkey."));
            }

            var identity = line[..colon];
            NbdTlsPsk key;
            try
            {
                key = NbdTlsPsk.FromHex(identity, line[(colon + 1)..]);
            }
            catch (FormatException)
            {
                throw new CommandFailedException(string.Create(CultureInfo.InvariantCulture,
                    $"The TLS-PSK file {path} line {i + 1}: the key of identity '{identity}' is not hexadecimal."));
            }

            // GnuTLS and nbdkit take the first entry of an identity listed twice.
            keys.TryAdd(identity, key);
            first ??= identity;
        }

        if (first is null)
        {
            throw new CommandFailedException($"The TLS-PSK file {path} has no identity:hexkey entry.");
        }

        return new PskKeyFile(fullPath, first, keys);
    }
}
