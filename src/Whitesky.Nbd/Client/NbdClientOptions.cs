using System.Net.Security;
using System.Security.Cryptography.X509Certificates;
using Microsoft.Extensions.Logging;

namespace Whitesky.Nbd;

/// <summary>How to reach an NBD export and how to talk to it. <see cref="FromUri"/> builds one from an NBD URI.</summary>
public sealed record NbdClientOptions
{
    /// <summary>Where the server listens.</summary>
    public required NbdEndpoint Endpoint { get; init; }

    /// <summary>The export to open (empty for the server's default export).</summary>
    public string ExportName { get; init; } = string.Empty;

    /// <summary>Whether TLS is used; see <see cref="NbdTlsMode"/>.</summary>
    public NbdTlsMode TlsMode { get; init; } = NbdTlsMode.Disabled;

    /// <summary>The pre-shared key for TLS-PSK (whitesky's exposed disks use it). Redacted in <see cref="object.ToString"/>.</summary>
    public NbdTlsPsk? TlsPsk { get; init; }

    /// <summary>For X.509: the name the server certificate must carry (defaults to the TCP host).</summary>
    public string? TlsHostName { get; init; }

    /// <summary>For X.509: a custom server certificate check (default: the system's trust store and host name check).</summary>
    public RemoteCertificateValidationCallback? ServerCertificateValidation { get; init; }

    /// <summary>For X.509: client certificates to present.</summary>
    public X509CertificateCollection? ClientCertificates { get; init; }

    /// <summary>Meta contexts to negotiate for block status (default <c>base:allocation</c>). Unknown ones are ignored by the server.</summary>
    public IReadOnlyList<string> MetaContexts { get; init; } = [NbdMetaContexts.BaseAllocation];

    /// <summary>Negotiate structured replies (required for block status and sparse reads). Default on.</summary>
    public bool StructuredReplies { get; init; } = true;

    /// <summary>Connections to open when the export advertises <c>CAN_MULTI_CONN</c> (otherwise one). Default 1.</summary>
    public int Connections { get; init; } = 1;

    /// <summary>Requests one connection keeps in flight at most; further calls wait for a slot. Default 64.</summary>
    public int MaxRequestsInFlight { get; init; } = 64;

    /// <summary>Time allowed to open the socket. Default 30 s.</summary>
    public TimeSpan ConnectTimeout { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>Time allowed for the whole option negotiation, TLS included. Default 30 s.</summary>
    public TimeSpan HandshakeTimeout { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>Time a request may wait for its reply before it fails with <see cref="NbdConnectionException"/>; <see cref="Timeout.InfiniteTimeSpan"/> for none. Default 5 min.</summary>
    public TimeSpan RequestTimeout { get; init; } = TimeSpan.FromMinutes(5);

    /// <summary>Logging; nothing is logged when null. Keys are never logged.</summary>
    public ILoggerFactory? LoggerFactory { get; init; }

    /// <summary>
    /// Builds options from an NBD URI (shared/specs/nbd-uri.md): <c>nbd://host[:port]/export</c>,
    /// <c>nbds://[identity@]host[:port]/export?tls-psk-file=FILE</c>, <c>nbd+unix:///export?socket=PATH</c>,
    /// <c>nbds+unix://[identity@]/export?socket=PATH&amp;tls-psk-file=FILE</c>.
    /// </summary>
    /// <exception cref="FormatException">The URI is not a valid NBD URI; the message says what is wrong.</exception>
    public static NbdClientOptions FromUri(string uri) => NbdUri.Parse(uri);

    internal void Validate()
    {
        ArgumentNullException.ThrowIfNull(Endpoint);
        ArgumentNullException.ThrowIfNull(ExportName);
        if (System.Text.Encoding.UTF8.GetByteCount(ExportName) > Protocol.NbdWire.MaxStringLength)
        {
            throw new ArgumentException("The export name is longer than the NBD limit of 4096 bytes.", nameof(ExportName));
        }

        if (TlsPsk is not null && TlsMode != NbdTlsMode.Required)
        {
            throw new ArgumentException("A TLS pre-shared key was given but TlsMode is not Required; set TlsMode = NbdTlsMode.Required.", nameof(TlsPsk));
        }

        ArgumentOutOfRangeException.ThrowIfLessThan(Connections, 1, nameof(Connections));
        ArgumentOutOfRangeException.ThrowIfGreaterThan(Connections, 64, nameof(Connections));
        ArgumentOutOfRangeException.ThrowIfLessThan(MaxRequestsInFlight, 1, nameof(MaxRequestsInFlight));
        ArgumentOutOfRangeException.ThrowIfGreaterThan(MaxRequestsInFlight, 4096, nameof(MaxRequestsInFlight));
        foreach (var context in MetaContexts)
        {
            ArgumentException.ThrowIfNullOrEmpty(context, nameof(MetaContexts));
        }
    }
}

/// <summary>Names of well-known NBD meta contexts.</summary>
public static class NbdMetaContexts
{
    /// <summary><c>base:allocation</c>: flags <see cref="NbdExtent.HoleFlag"/> and <see cref="NbdExtent.ZeroFlag"/>.</summary>
    public const string BaseAllocation = "base:allocation";

    /// <summary>The prefix of qemu's dirty bitmap contexts, <c>qemu:dirty-bitmap:NAME</c> (flag <see cref="NbdExtent.DirtyFlag"/>).</summary>
    public const string QemuDirtyBitmapPrefix = "qemu:dirty-bitmap:";

    /// <summary>The context of qemu's dirty bitmap <paramref name="bitmap"/>.</summary>
    public static string QemuDirtyBitmap(string bitmap) => QemuDirtyBitmapPrefix + bitmap;
}
