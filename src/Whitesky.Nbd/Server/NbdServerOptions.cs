using System.Security.Cryptography.X509Certificates;
using Microsoft.Extensions.Logging;

namespace Whitesky.Nbd.Server;

/// <summary>One export an <see cref="NbdServer"/> serves.</summary>
public sealed record NbdServerExport
{
    /// <summary>The export name clients ask for (may be empty: the default export).</summary>
    public required string Name { get; init; }

    /// <summary>The storage. The server does not dispose it.</summary>
    public required NbdBackend Backend { get; init; }

    /// <summary>A description shown by <c>NBD_OPT_LIST</c> and <c>NBD_INFO_DESCRIPTION</c>.</summary>
    public string Description { get; init; } = string.Empty;

    /// <summary>Serve read-only even if the backend can write.</summary>
    public bool ReadOnly { get; init; }

    /// <summary>Connections allowed to this export at once. Default 16.</summary>
    public int MaxConnections { get; init; } = 16;
}

/// <summary>Whether the server requires TLS.</summary>
public enum NbdServerTlsMode
{
    /// <summary>Plaintext only: <c>NBD_OPT_STARTTLS</c> is refused.</summary>
    Disabled,

    /// <summary>TLS is required: every option but STARTTLS and ABORT is answered <c>NBD_REP_ERR_TLS_REQD</c> until TLS is up.</summary>
    Required,
}

/// <summary>How an <see cref="NbdServer"/> listens, what it serves and the limits it enforces.</summary>
public sealed record NbdServerOptions
{
    /// <summary>Where to listen: TCP endpoints (port 0 picks a free port) and Unix socket paths.</summary>
    public required IReadOnlyList<NbdEndpoint> Listen { get; init; }

    /// <summary>The exports.</summary>
    public required IReadOnlyList<NbdServerExport> Exports { get; init; }

    /// <summary>TLS mode. With <see cref="NbdServerTlsMode.Required"/>, set <see cref="TlsPskKeys"/> or <see cref="TlsCertificate"/>.</summary>
    public NbdServerTlsMode TlsMode { get; init; } = NbdServerTlsMode.Disabled;

    /// <summary>TLS-PSK: the key of a client identity, or null for an unknown identity. Keys are never logged.</summary>
    public Func<string, NbdTlsPsk?>? TlsPskKeys { get; init; }

    /// <summary>X.509: the server certificate with its private key.</summary>
    public X509Certificate2? TlsCertificate { get; init; }

    /// <summary>Largest READ/WRITE payload accepted (advertised as the maximum block size). Default 32 MiB.</summary>
    public int MaxPayloadSize { get; init; } = 32 * 1024 * 1024;

    /// <summary>
    /// Requests one connection may have in flight; the server stops reading until one completes. Default 16 (as
    /// nbdkit's threads). With <see cref="MaxPayloadSize"/> it bounds a connection's buffers.
    /// </summary>
    public int MaxRequestsInFlight { get; init; } = 16;

    /// <summary>
    /// READ and WRITE buffer bytes the whole server holds at once, over every connection; requests wait their
    /// turn beyond it, so no client can exhaust the host's memory. Default 512 MiB.
    /// </summary>
    public long MaxBufferedBytes { get; init; } = 512L * 1024 * 1024;

    /// <summary>Largest option payload accepted during the handshake. Default 64 KiB.</summary>
    public int MaxOptionLength { get; init; } = 64 * 1024;

    /// <summary>Options a client may send before it must have chosen an export. Default 256.</summary>
    public int MaxOptions { get; init; } = 256;

    /// <summary>Time a client has to finish the handshake (TLS included). Default 30 s.</summary>
    public TimeSpan HandshakeTimeout { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>A connection with no request for this long is closed; <see cref="Timeout.InfiniteTimeSpan"/> for never. Default infinite.</summary>
    public TimeSpan IdleTimeout { get; init; } = Timeout.InfiniteTimeSpan;

    /// <summary>Logging; nothing is logged when null.</summary>
    public ILoggerFactory? LoggerFactory { get; init; }

    internal void Validate()
    {
        if (Listen is null || Listen.Count == 0)
        {
            throw new ArgumentException("An NBD server needs at least one endpoint to listen on.", nameof(Listen));
        }

        if (Exports is null || Exports.Count == 0)
        {
            throw new ArgumentException("An NBD server needs at least one export.", nameof(Exports));
        }

        var names = new HashSet<string>(StringComparer.Ordinal);
        foreach (var export in Exports)
        {
            ArgumentNullException.ThrowIfNull(export.Backend, nameof(Exports));
            if (!names.Add(export.Name))
            {
                throw new ArgumentException($"Two exports are named '{export.Name}'.", nameof(Exports));
            }

            if (System.Text.Encoding.UTF8.GetByteCount(export.Name) > Protocol.NbdWire.MaxStringLength)
            {
                throw new ArgumentException("An export name is longer than the NBD limit of 4096 bytes.", nameof(Exports));
            }
        }

        if (TlsMode == NbdServerTlsMode.Required && TlsPskKeys is null && TlsCertificate is null)
        {
            throw new ArgumentException("TLS is required but neither TlsPskKeys nor TlsCertificate is set.", nameof(TlsMode));
        }

        ArgumentOutOfRangeException.ThrowIfLessThan(MaxPayloadSize, 4096, nameof(MaxPayloadSize));
        ArgumentOutOfRangeException.ThrowIfGreaterThan(MaxPayloadSize, 64 * 1024 * 1024, nameof(MaxPayloadSize));
        ArgumentOutOfRangeException.ThrowIfLessThan(MaxRequestsInFlight, 1, nameof(MaxRequestsInFlight));
        ArgumentOutOfRangeException.ThrowIfLessThan(MaxBufferedBytes, MaxPayloadSize, nameof(MaxBufferedBytes));
        ArgumentOutOfRangeException.ThrowIfLessThan(MaxOptionLength, 4096 + 64, nameof(MaxOptionLength));
    }
}

/// <summary>A connection opened or closed.</summary>
public sealed class NbdServerConnectionEventArgs : EventArgs
{
    /// <summary>Creates the event data.</summary>
    public NbdServerConnectionEventArgs(long connectionId, string remoteEndpoint, string? export, Exception? error = null)
    {
        ConnectionId = connectionId;
        RemoteEndpoint = remoteEndpoint;
        Export = export;
        Error = error;
    }

    /// <summary>The server's number for the connection.</summary>
    public long ConnectionId { get; }

    /// <summary>The client's address (empty for Unix sockets).</summary>
    public string RemoteEndpoint { get; }

    /// <summary>The export chosen, once the handshake chose one.</summary>
    public string? Export { get; }

    /// <summary>Why the connection ended, when it ended badly.</summary>
    public Exception? Error { get; }
}

/// <summary>A request the server finished.</summary>
public sealed class NbdServerCommandEventArgs : EventArgs
{
    /// <summary>Creates the event data.</summary>
    public NbdServerCommandEventArgs(long connectionId, string export, NbdCommand command, long offset, long length, NbdError error)
    {
        ConnectionId = connectionId;
        Export = export;
        Command = command;
        Offset = offset;
        Length = length;
        Error = error;
    }

    /// <summary>The connection the request came on.</summary>
    public long ConnectionId { get; }

    /// <summary>The export.</summary>
    public string Export { get; }

    /// <summary>The command.</summary>
    public NbdCommand Command { get; }

    /// <summary>The request's offset.</summary>
    public long Offset { get; }

    /// <summary>The request's length (the payload size for READ and WRITE).</summary>
    public long Length { get; }

    /// <summary>The error answered, or <see cref="NbdError.None"/>.</summary>
    public NbdError Error { get; }
}
