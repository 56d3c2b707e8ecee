using System.Globalization;

namespace Whitesky.Nbd;

/// <summary>Parses and formats NBD URIs (shared/specs/nbd-uri.md).</summary>
public static class NbdUri
{
    /// <summary>Parses an NBD URI into client options; see <see cref="NbdClientOptions.FromUri"/>.</summary>
    /// <exception cref="FormatException">The URI is malformed or asks for something unsupported.</exception>
    public static NbdClientOptions Parse(string uri)
    {
        ArgumentNullException.ThrowIfNull(uri);
        var schemeEnd = uri.IndexOf("://", StringComparison.Ordinal);
        if (schemeEnd <= 0)
        {
            throw Bad(uri, "it has no scheme (expected nbd://, nbds://, nbd+unix:// or nbds+unix://)");
        }

        var scheme = uri[..schemeEnd].ToLowerInvariant();
        var (tls, unix) = scheme switch
        {
            "nbd" => (false, false),
            "nbds" => (true, false),
            "nbd+unix" => (false, true),
            "nbds+unix" => (true, true),
            _ => throw Bad(uri, $"the scheme '{scheme}' is not supported (expected nbd, nbds, nbd+unix or nbds+unix)"),
        };

        var rest = uri[(schemeEnd + 3)..];
        var hash = rest.IndexOf('#', StringComparison.Ordinal);
        if (hash >= 0)
        {
            rest = rest[..hash];
        }

        var query = string.Empty;
        var q = rest.IndexOf('?', StringComparison.Ordinal);
        if (q >= 0)
        {
            query = rest[(q + 1)..];
            rest = rest[..q];
        }

        var slash = rest.IndexOf('/', StringComparison.Ordinal);
        var authority = slash >= 0 ? rest[..slash] : rest;
        var path = slash >= 0 ? rest[(slash + 1)..] : string.Empty;
        var exportName = Unescape(uri, path);

        string? user = null;
        var at = authority.LastIndexOf('@');
        if (at >= 0)
        {
            user = Unescape(uri, authority[..at]);
            authority = authority[(at + 1)..];
        }

        var parameters = ParseQuery(uri, query);
        string? socketPath = parameters.GetValueOrDefault("socket");
        string? pskFile = parameters.GetValueOrDefault("tls-psk-file");
        string? tlsType = parameters.GetValueOrDefault("tls-type");
        string? tlsHostName = parameters.GetValueOrDefault("tls-hostname");

        NbdEndpoint endpoint;
        if (unix)
        {
            if (string.IsNullOrEmpty(socketPath))
            {
                throw Bad(uri, $"{scheme}:// needs a socket=PATH query parameter");
            }

            endpoint = NbdEndpoint.Unix(socketPath);
        }
        else
        {
            if (socketPath is not null)
            {
                throw Bad(uri, "socket= belongs to nbd+unix:// and nbds+unix:// URIs");
            }

            var (host, port) = ParseHostPort(uri, authority);
            endpoint = NbdEndpoint.Tcp(host, port);
        }

        if (!tls && (pskFile is not null || tlsType is not null))
        {
            throw Bad(uri, $"TLS parameters need the nbds:// or nbds+unix:// scheme; {scheme}:// is plaintext and this client never uses opportunistic TLS");
        }

        NbdTlsPsk? psk = null;
        if (tls)
        {
            if (tlsType is not null && tlsType != "psk" && tlsType != "x509")
            {
                throw Bad(uri, $"tls-type={tlsType} is not supported (psk or x509)");
            }

            if (tlsType == "psk" && pskFile is null)
            {
                throw Bad(uri, "tls-type=psk needs tls-psk-file=FILE");
            }

            if (pskFile is not null)
            {
                psk = NbdTlsPsk.FromFile(pskFile, string.IsNullOrEmpty(user) ? null : user);
            }
        }

        return new NbdClientOptions
        {
            Endpoint = endpoint,
            ExportName = exportName,
            TlsMode = tls ? NbdTlsMode.Required : NbdTlsMode.Disabled,
            TlsPsk = psk,
            TlsHostName = tlsHostName,
        };
    }

    /// <summary>Formats a plain or TLS URI for a TCP endpoint.</summary>
    public static string Format(NbdEndpoint endpoint, string exportName, bool tls = false, string? pskIdentity = null, string? pskFile = null)
    {
        ArgumentNullException.ThrowIfNull(endpoint);
        ArgumentNullException.ThrowIfNull(exportName);
        var user = pskIdentity is null ? string.Empty : Uri.EscapeDataString(pskIdentity) + "@";
        var export = Uri.EscapeDataString(exportName);
        var query = new List<string>();
        string text;
        switch (endpoint)
        {
            case NbdTcpEndpoint tcp:
                var host = tcp.Host.Contains(':', StringComparison.Ordinal) ? "[" + tcp.Host + "]" : tcp.Host;
                text = string.Create(CultureInfo.InvariantCulture, $"{(tls ? "nbds" : "nbd")}://{user}{host}:{tcp.Port}/{export}");
                break;
            case NbdUnixEndpoint unixEndpoint:
                text = $"{(tls ? "nbds+unix" : "nbd+unix")}://{user}/{export}";
                query.Add("socket=" + Uri.EscapeDataString(unixEndpoint.Path));
                break;
            default:
                throw new ArgumentException("Unknown endpoint type.", nameof(endpoint));
        }

        if (pskFile is not null)
        {
            query.Add("tls-psk-file=" + Uri.EscapeDataString(pskFile));
        }

        return query.Count == 0 ? text : text + "?" + string.Join('&', query);
    }

    private static (string Host, int Port) ParseHostPort(string uri, string authority)
    {
        if (authority.Length == 0)
        {
            return ("localhost", Protocol.NbdWire.DefaultPort);
        }

        string host;
        string? portText = null;
        if (authority[0] == '[')
        {
            var close = authority.IndexOf(']', StringComparison.Ordinal);
            if (close < 0)
            {
                throw Bad(uri, "an IPv6 address is missing its closing ']'");
            }

            host = authority[1..close];
            var after = authority[(close + 1)..];
            if (after.Length > 0)
            {
                if (after[0] != ':')
                {
                    throw Bad(uri, "unexpected text after the IPv6 address");
                }

                portText = after[1..];
            }
        }
        else
        {
            var colon = authority.LastIndexOf(':');
            host = colon >= 0 ? authority[..colon] : authority;
            portText = colon >= 0 ? authority[(colon + 1)..] : null;
        }

        if (host.Length == 0)
        {
            host = "localhost";
        }

        var port = Protocol.NbdWire.DefaultPort;
        if (!string.IsNullOrEmpty(portText)
            && (!int.TryParse(portText, NumberStyles.None, CultureInfo.InvariantCulture, out port) || port < 1 || port > 65535))
        {
            throw Bad(uri, $"the port '{portText}' is not a number from 1 to 65535");
        }

        return (Unescape(uri, host), port);
    }

    private static Dictionary<string, string> ParseQuery(string uri, string query)
    {
        var result = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var part in query.Split('&', StringSplitOptions.RemoveEmptyEntries))
        {
            var eq = part.IndexOf('=', StringComparison.Ordinal);
            var key = Unescape(uri, eq >= 0 ? part[..eq] : part);
            var value = eq >= 0 ? Unescape(uri, part[(eq + 1)..]) : string.Empty;
            switch (key)
            {
                case "socket" or "tls-psk-file" or "tls-type" or "tls-hostname" or "tls-verify-peer" or "tls-certificates":
                    result[key] = value;
                    break;
                default:
                    // The URI spec lets clients ignore parameters they do not know.
                    break;
            }
        }

        return result;
    }

    private static string Unescape(string uri, string text)
    {
        try
        {
            var value = Uri.UnescapeDataString(text);
            if (value.Contains('\0', StringComparison.Ordinal))
            {
                throw Bad(uri, "it contains an encoded NUL character");
            }

            return value;
        }
        catch (UriFormatException ex)
        {
            throw new FormatException($"'{Redact(uri)}' is not a valid NBD URI: bad percent-encoding.", ex);
        }
    }

    private static FormatException Bad(string uri, string why) => new($"'{Redact(uri)}' is not a valid NBD URI: {why}.");

    /// <summary>URIs carry file names, not keys, but a user part may be sensitive to some: keep the message short.</summary>
    private static string Redact(string uri) => uri.Length > 512 ? uri[..512] + "..." : uri;
}
