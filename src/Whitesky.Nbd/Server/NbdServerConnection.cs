using System.Buffers;
using System.Buffers.Binary;
using System.Globalization;
using System.Net.Security;
using System.Net.Sockets;
using System.Security.Authentication;
using System.Text;
using Microsoft.Extensions.Logging;
using Whitesky.Nbd.Protocol;
using Whitesky.Nbd.Tls;

namespace Whitesky.Nbd.Server;

/// <summary>
/// One client of an <see cref="NbdServer"/>: the fixed-newstyle handshake, then the transmission phase.
/// Everything the client sends is bounded (option and name lengths, request lengths, requests in flight);
/// a client that breaks the protocol loses its connection and nothing else.
/// </summary>
internal sealed partial class NbdServerConnection
{
    private const uint BaseAllocationContextId = 1;

    private readonly NbdServer _server;
    private readonly NbdServerOptions _options;
    private readonly Socket _socket;
    private readonly ILogger _logger;
    private readonly SemaphoreSlim _writeLock = new(1, 1);
    private readonly byte[] _header = new byte[64];
    private Stream _stream;
    private NbdServerExport? _export;
    private bool _tls;
    private bool _structured;
    private bool _baseAllocation;
    private string? _metaContextExport;
    private int _inFlight;
    private TaskCompletionSource? _drained;

    public NbdServerConnection(NbdServer server, long id, Socket socket, NbdServerOptions options, ILogger logger)
    {
        _server = server;
        Id = id;
        _socket = socket;
        _options = options;
        _logger = logger;
        _stream = new NetworkStream(socket, ownsSocket: true);
        RemoteEndpoint = socket.RemoteEndPoint?.ToString() ?? string.Empty;
    }

    public long Id { get; }

    public string RemoteEndpoint { get; }

    public string? ExportName => _export?.Name;

    /// <summary>Closes the socket under the connection: pending sends and reads fail, and the connection ends.</summary>
    public void Abort() => _socket.Dispose();

    /// <summary>Runs the connection until the client leaves, breaks the protocol, or the server stops.</summary>
    public async Task RunAsync(CancellationToken stopping)
    {
        Exception? failure = null;
        try
        {
            bool go;
            using (var handshake = CancellationTokenSource.CreateLinkedTokenSource(stopping))
            {
                if (_options.HandshakeTimeout != Timeout.InfiniteTimeSpan)
                {
                    handshake.CancelAfter(_options.HandshakeTimeout);
                }

                go = await HandshakeAsync(handshake.Token).ConfigureAwait(false);
            }

            if (go)
            {
                await TransmitAsync(stopping).ConfigureAwait(false);
            }
        }
        catch (OperationCanceledException) when (stopping.IsCancellationRequested)
        {
        }
        catch (Exception ex) when (ex is IOException or SocketException or OperationCanceledException or ObjectDisposedException or AuthenticationException or NbdException)
        {
            failure = ex;
            LogClientDropped(_logger, Id, RemoteEndpoint, ex.Message);
        }
        finally
        {
            if (_export is not null)
            {
                _server.ReleaseExportSlot(_export.Name);
            }

            try
            {
                await _stream.DisposeAsync().ConfigureAwait(false);
            }
            catch (Exception ex) when (ex is IOException or SocketException or ObjectDisposedException)
            {
            }

            _socket.Dispose();
            _server.OnConnectionClosed(this, failure);
        }
    }

    // Handshake ------------------------------------------------------------------------------------

    private async Task<bool> HandshakeAsync(CancellationToken cancellationToken)
    {
        var greeting = new byte[18];
        BinaryPrimitives.WriteUInt64BigEndian(greeting, NbdWire.NBDMAGIC);
        BinaryPrimitives.WriteUInt64BigEndian(greeting.AsSpan(8), NbdWire.IHAVEOPT);
        BinaryPrimitives.WriteUInt16BigEndian(greeting.AsSpan(16), NbdWire.NBD_FLAG_FIXED_NEWSTYLE | NbdWire.NBD_FLAG_NO_ZEROES);
        await _stream.WriteAsync(greeting, cancellationToken).ConfigureAwait(false);

        await ReadExactAsync(_header.AsMemory(0, 4), cancellationToken).ConfigureAwait(false);
        var clientFlags = BinaryPrimitives.ReadUInt32BigEndian(_header);
        if ((clientFlags & NbdWire.NBD_FLAG_C_FIXED_NEWSTYLE) == 0 || (clientFlags & ~(NbdWire.NBD_FLAG_C_FIXED_NEWSTYLE | NbdWire.NBD_FLAG_C_NO_ZEROES)) != 0)
        {
            throw new NbdProtocolException(string.Create(CultureInfo.InvariantCulture, $"client flags 0x{clientFlags:x} (fixed newstyle is required, no unknown flags)"));
        }

        var noZeroes = (clientFlags & NbdWire.NBD_FLAG_C_NO_ZEROES) != 0;
        for (var count = 0; count < _options.MaxOptions; count++)
        {
            await ReadExactAsync(_header.AsMemory(0, NbdWire.OptionHeaderSize), cancellationToken).ConfigureAwait(false);
            var magic = BinaryPrimitives.ReadUInt64BigEndian(_header);
            var option = BinaryPrimitives.ReadUInt32BigEndian(_header.AsSpan(8));
            var length = BinaryPrimitives.ReadUInt32BigEndian(_header.AsSpan(12));
            if (magic != NbdWire.IHAVEOPT)
            {
                throw new NbdProtocolException(string.Create(CultureInfo.InvariantCulture, $"option magic 0x{magic:x16}"));
            }

            if (length > _options.MaxOptionLength)
            {
                // The data cannot be skipped cheaply and the stream cannot be resynchronised otherwise.
                await ReplyAsync(option, NbdWire.NBD_REP_ERR_TOO_BIG, "option too long", cancellationToken).ConfigureAwait(false);
                throw new NbdProtocolException(string.Create(CultureInfo.InvariantCulture, $"an option of {length} bytes"));
            }

            var data = length == 0 ? [] : new byte[length];
            await ReadExactAsync(data, cancellationToken).ConfigureAwait(false);

            if (_options.TlsMode == NbdServerTlsMode.Required && !_tls && option is not NbdWire.NBD_OPT_STARTTLS and not NbdWire.NBD_OPT_ABORT)
            {
                if (option == NbdWire.NBD_OPT_EXPORT_NAME)
                {
                    throw new NbdTlsException(NbdTlsFailure.RequiredByServer, "NBD_OPT_EXPORT_NAME before TLS");
                }

                await ReplyAsync(option, NbdWire.NBD_REP_ERR_TLS_REQD, "TLS is required", cancellationToken).ConfigureAwait(false);
                continue;
            }

            switch (option)
            {
                case NbdWire.NBD_OPT_STARTTLS:
                    await StartTlsAsync(data, cancellationToken).ConfigureAwait(false);
                    break;
                case NbdWire.NBD_OPT_LIST:
                    await ListAsync(data, cancellationToken).ConfigureAwait(false);
                    break;
                case NbdWire.NBD_OPT_STRUCTURED_REPLY:
                    if (data.Length != 0)
                    {
                        await ReplyAsync(option, NbdWire.NBD_REP_ERR_INVALID, "NBD_OPT_STRUCTURED_REPLY takes no data", cancellationToken).ConfigureAwait(false);
                        break;
                    }

                    _structured = true;
                    await AckAsync(option, cancellationToken).ConfigureAwait(false);
                    break;
                case NbdWire.NBD_OPT_LIST_META_CONTEXT:
                case NbdWire.NBD_OPT_SET_META_CONTEXT:
                    await MetaContextAsync(option, data, cancellationToken).ConfigureAwait(false);
                    break;
                case NbdWire.NBD_OPT_INFO:
                case NbdWire.NBD_OPT_GO:
                    if (await InfoOrGoAsync(option, data, cancellationToken).ConfigureAwait(false))
                    {
                        return true;
                    }

                    break;
                case NbdWire.NBD_OPT_EXPORT_NAME:
                    return await ExportNameAsync(data, noZeroes, cancellationToken).ConfigureAwait(false);
                case NbdWire.NBD_OPT_ABORT:
                    try
                    {
                        await AckAsync(option, cancellationToken).ConfigureAwait(false);
                    }
                    catch (IOException)
                    {
                        // The client may already be gone; ABORT needs no answer.
                    }

                    return false;
                default:
                    await ReplyAsync(option, NbdWire.NBD_REP_ERR_UNSUP, "unsupported option", cancellationToken).ConfigureAwait(false);
                    break;
            }
        }

        throw new NbdProtocolException(string.Create(CultureInfo.InvariantCulture, $"more than {_options.MaxOptions} options"));
    }

    private async Task StartTlsAsync(byte[] data, CancellationToken cancellationToken)
    {
        if (_tls || data.Length != 0)
        {
            await ReplyAsync(NbdWire.NBD_OPT_STARTTLS, NbdWire.NBD_REP_ERR_INVALID, _tls ? "TLS is already on" : "NBD_OPT_STARTTLS takes no data", cancellationToken).ConfigureAwait(false);
            return;
        }

        if (_options.TlsMode == NbdServerTlsMode.Disabled)
        {
            await ReplyAsync(NbdWire.NBD_OPT_STARTTLS, NbdWire.NBD_REP_ERR_POLICY, "TLS is not configured on this server", cancellationToken).ConfigureAwait(false);
            return;
        }

        await AckAsync(NbdWire.NBD_OPT_STARTTLS, cancellationToken).ConfigureAwait(false);
        if (_options.TlsPskKeys is { } keys)
        {
            _stream = await PskTls.AcceptServerAsync(_stream, keys, cancellationToken).ConfigureAwait(false);
        }
        else
        {
            var ssl = new SslStream(_stream, leaveInnerStreamOpen: false);
            _stream = ssl;
            await ssl.AuthenticateAsServerAsync(new SslServerAuthenticationOptions
            {
                ServerCertificate = _options.TlsCertificate,
                EnabledSslProtocols = SslProtocols.Tls12 | SslProtocols.Tls13,
            }, cancellationToken).ConfigureAwait(false);
        }

        // Nothing negotiated in plaintext survives the upgrade.
        _tls = true;
        _structured = false;
        _baseAllocation = false;
        _metaContextExport = null;
    }

    private async Task ListAsync(byte[] data, CancellationToken cancellationToken)
    {
        if (data.Length != 0)
        {
            await ReplyAsync(NbdWire.NBD_OPT_LIST, NbdWire.NBD_REP_ERR_INVALID, "NBD_OPT_LIST takes no data", cancellationToken).ConfigureAwait(false);
            return;
        }

        foreach (var export in _options.Exports)
        {
            var name = Encoding.UTF8.GetBytes(export.Name);
            var description = Encoding.UTF8.GetBytes(export.Description);
            var payload = new byte[4 + name.Length + description.Length];
            BinaryPrimitives.WriteUInt32BigEndian(payload, (uint)name.Length);
            name.CopyTo(payload, 4);
            description.CopyTo(payload, 4 + name.Length);
            await ReplyAsync(NbdWire.NBD_OPT_LIST, NbdWire.NBD_REP_SERVER, payload, cancellationToken).ConfigureAwait(false);
        }

        await AckAsync(NbdWire.NBD_OPT_LIST, cancellationToken).ConfigureAwait(false);
    }

    private async Task MetaContextAsync(uint option, byte[] data, CancellationToken cancellationToken)
    {
        var set = option == NbdWire.NBD_OPT_SET_META_CONTEXT;
        if (!_structured)
        {
            await ReplyAsync(option, NbdWire.NBD_REP_ERR_INVALID, "meta contexts need structured replies first", cancellationToken).ConfigureAwait(false);
            return;
        }

        if (!TryParseMetaContextRequest(data, out var exportName, out var queries))
        {
            await ReplyAsync(option, NbdWire.NBD_REP_ERR_INVALID, "malformed meta context request", cancellationToken).ConfigureAwait(false);
            return;
        }

        if (FindExport(exportName) is null)
        {
            await ReplyAsync(option, NbdWire.NBD_REP_ERR_UNKNOWN, "no such export", cancellationToken).ConfigureAwait(false);
            return;
        }

        var selected = set
            ? queries.Contains(NbdWire.BaseAllocationContext, StringComparer.Ordinal)
            : queries.Count == 0 || queries.Any(q => q is "base:" or NbdWire.BaseAllocationContext);
        if (selected)
        {
            var name = Encoding.UTF8.GetBytes(NbdWire.BaseAllocationContext);
            var payload = new byte[4 + name.Length];
            BinaryPrimitives.WriteUInt32BigEndian(payload, set ? BaseAllocationContextId : 0);
            name.CopyTo(payload, 4);
            await ReplyAsync(option, NbdWire.NBD_REP_META_CONTEXT, payload, cancellationToken).ConfigureAwait(false);
        }

        if (set)
        {
            _baseAllocation = selected;
            _metaContextExport = exportName;
        }

        await AckAsync(option, cancellationToken).ConfigureAwait(false);
    }

    private static bool TryParseMetaContextRequest(byte[] data, out string exportName, out List<string> queries)
    {
        exportName = string.Empty;
        queries = [];
        var span = data.AsSpan();
        if (!TryReadString(ref span, out exportName) || span.Length < 4)
        {
            return false;
        }

        var count = BinaryPrimitives.ReadUInt32BigEndian(span);
        span = span[4..];
        if (count > (uint)span.Length / 4)
        {
            return false;
        }

        for (var i = 0u; i < count; i++)
        {
            if (!TryReadString(ref span, out var query))
            {
                return false;
            }

            queries.Add(query);
        }

        return span.IsEmpty;
    }

    private static bool TryReadString(ref Span<byte> span, out string value)
    {
        value = string.Empty;
        if (span.Length < 4)
        {
            return false;
        }

        var length = BinaryPrimitives.ReadUInt32BigEndian(span);
        if (length > NbdWire.MaxStringLength || length > (uint)(span.Length - 4))
        {
            return false;
        }

        value = Encoding.UTF8.GetString(span.Slice(4, (int)length));
        span = span[(4 + (int)length)..];
        return true;
    }

    private async Task<bool> InfoOrGoAsync(uint option, byte[] data, CancellationToken cancellationToken)
    {
        var span = data.AsSpan();
        if (!TryReadString(ref span, out var name) || span.Length < 2)
        {
            await ReplyAsync(option, NbdWire.NBD_REP_ERR_INVALID, "malformed request", cancellationToken).ConfigureAwait(false);
            return false;
        }

        var requests = BinaryPrimitives.ReadUInt16BigEndian(span);
        span = span[2..];
        if (span.Length != requests * 2)
        {
            await ReplyAsync(option, NbdWire.NBD_REP_ERR_INVALID, "information request count does not match the length", cancellationToken).ConfigureAwait(false);
            return false;
        }

        var wanted = new HashSet<ushort>();
        for (var i = 0; i < requests; i++)
        {
            wanted.Add(BinaryPrimitives.ReadUInt16BigEndian(span[(i * 2)..]));
        }

        var export = FindExport(name);
        if (export is null)
        {
            await ReplyAsync(option, NbdWire.NBD_REP_ERR_UNKNOWN, "no such export", cancellationToken).ConfigureAwait(false);
            return false;
        }

        var go = option == NbdWire.NBD_OPT_GO;
        if (go && !_server.TryTakeExportSlot(export))
        {
            await ReplyAsync(option, NbdWire.NBD_REP_ERR_POLICY, "too many connections to this export", cancellationToken).ConfigureAwait(false);
            return false;
        }

        try
        {
            await ReplyAsync(option, NbdWire.NBD_REP_INFO, InfoExport(export), cancellationToken).ConfigureAwait(false);
            if (wanted.Contains(NbdWire.NBD_INFO_NAME))
            {
                await ReplyAsync(option, NbdWire.NBD_REP_INFO, InfoString(NbdWire.NBD_INFO_NAME, export.Name), cancellationToken).ConfigureAwait(false);
            }

            if (wanted.Contains(NbdWire.NBD_INFO_DESCRIPTION) && export.Description.Length > 0)
            {
                await ReplyAsync(option, NbdWire.NBD_REP_INFO, InfoString(NbdWire.NBD_INFO_DESCRIPTION, export.Description), cancellationToken).ConfigureAwait(false);
            }

            await ReplyAsync(option, NbdWire.NBD_REP_INFO, InfoBlockSize(export), cancellationToken).ConfigureAwait(false);
            await AckAsync(option, cancellationToken).ConfigureAwait(false);
        }
        catch
        {
            if (go)
            {
                _server.ReleaseExportSlot(export.Name);
            }

            throw;
        }

        if (go)
        {
            _export = export;
            if (!string.Equals(_metaContextExport, export.Name, StringComparison.Ordinal))
            {
                // Contexts chosen for another export do not carry over (spec).
                _baseAllocation = false;
            }
        }

        return go;
    }

    private async Task<bool> ExportNameAsync(byte[] data, bool noZeroes, CancellationToken cancellationToken)
    {
        if (data.Length > NbdWire.MaxStringLength)
        {
            throw new NbdProtocolException("an export name over 4096 bytes");
        }

        var export = FindExport(Encoding.UTF8.GetString(data));
        if (export is null || !_server.TryTakeExportSlot(export))
        {
            // NBD_OPT_EXPORT_NAME has no error reply: the spec says to close.
            return false;
        }

        _export = export;
        _structured = false;
        _baseAllocation = false;
        var reply = new byte[noZeroes ? 10 : 134];
        BinaryPrimitives.WriteUInt64BigEndian(reply, (ulong)export.Backend.Size);
        BinaryPrimitives.WriteUInt16BigEndian(reply.AsSpan(8), (ushort)TransmissionFlags(export));
        await _stream.WriteAsync(reply, cancellationToken).ConfigureAwait(false);
        return true;
    }

    private NbdServerExport? FindExport(string name) =>
        _options.Exports.FirstOrDefault(e => string.Equals(e.Name, name, StringComparison.Ordinal));

    private static bool IsReadOnly(NbdServerExport export) => export.ReadOnly || export.Backend.IsReadOnly;

    private NbdTransmissionFlags TransmissionFlags(NbdServerExport export)
    {
        var flags = NbdTransmissionFlags.HasFlags | NbdTransmissionFlags.SendFlush | NbdTransmissionFlags.SendFua
            | NbdTransmissionFlags.SendCache | NbdTransmissionFlags.CanMultiConn;
        if (_structured)
        {
            flags |= NbdTransmissionFlags.SendDf;
        }

        if (IsReadOnly(export))
        {
            flags |= NbdTransmissionFlags.ReadOnly;
        }
        else
        {
            flags |= NbdTransmissionFlags.SendWriteZeroes;
            if (export.Backend.CanTrim)
            {
                flags |= NbdTransmissionFlags.SendTrim;
            }

            if (export.Backend.CanFastZero)
            {
                flags |= NbdTransmissionFlags.SendFastZero;
            }
        }

        return flags;
    }

    private byte[] InfoExport(NbdServerExport export)
    {
        var payload = new byte[12];
        BinaryPrimitives.WriteUInt16BigEndian(payload, NbdWire.NBD_INFO_EXPORT);
        BinaryPrimitives.WriteUInt64BigEndian(payload.AsSpan(2), (ulong)export.Backend.Size);
        BinaryPrimitives.WriteUInt16BigEndian(payload.AsSpan(10), (ushort)TransmissionFlags(export));
        return payload;
    }

    private static byte[] InfoString(ushort type, string value)
    {
        var text = Encoding.UTF8.GetBytes(value);
        var payload = new byte[2 + text.Length];
        BinaryPrimitives.WriteUInt16BigEndian(payload, type);
        text.CopyTo(payload, 2);
        return payload;
    }

    private byte[] InfoBlockSize(NbdServerExport export)
    {
        var minimum = (uint)Math.Max(1, export.Backend.MinimumBlockSize);
        var preferred = (uint)Math.Max(Math.Max(512, minimum), export.Backend.PreferredBlockSize);
        var maximum = (uint)_options.MaxPayloadSize / minimum * minimum;
        var payload = new byte[14];
        BinaryPrimitives.WriteUInt16BigEndian(payload, NbdWire.NBD_INFO_BLOCK_SIZE);
        BinaryPrimitives.WriteUInt32BigEndian(payload.AsSpan(2), minimum);
        BinaryPrimitives.WriteUInt32BigEndian(payload.AsSpan(6), preferred);
        BinaryPrimitives.WriteUInt32BigEndian(payload.AsSpan(10), maximum);
        return payload;
    }

    private Task AckAsync(uint option, CancellationToken cancellationToken) =>
        ReplyAsync(option, NbdWire.NBD_REP_ACK, Array.Empty<byte>(), cancellationToken);

    private Task ReplyAsync(uint option, uint type, string message, CancellationToken cancellationToken) =>
        ReplyAsync(option, type, Encoding.UTF8.GetBytes(message), cancellationToken);

    private async Task ReplyAsync(uint option, uint type, byte[] payload, CancellationToken cancellationToken)
    {
        var buffer = new byte[NbdWire.OptionReplyHeaderSize + payload.Length];
        BinaryPrimitives.WriteUInt64BigEndian(buffer, NbdWire.OPTION_REPLY_MAGIC);
        BinaryPrimitives.WriteUInt32BigEndian(buffer.AsSpan(8), option);
        BinaryPrimitives.WriteUInt32BigEndian(buffer.AsSpan(12), type);
        BinaryPrimitives.WriteUInt32BigEndian(buffer.AsSpan(16), (uint)payload.Length);
        payload.CopyTo(buffer, NbdWire.OptionReplyHeaderSize);
        await _stream.WriteAsync(buffer, cancellationToken).ConfigureAwait(false);
        await _stream.FlushAsync(cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Exact reads: nothing past the message is consumed, so no plaintext is read ahead of a TLS upgrade.</summary>
    private async Task ReadExactAsync(Memory<byte> buffer, CancellationToken cancellationToken) =>
        await _stream.ReadExactlyAsync(buffer, cancellationToken).ConfigureAwait(false);

    [LoggerMessage(EventId = 101, Level = LogLevel.Debug, Message = "NBD connection {Id} from {Remote} dropped: {Reason}")]
    private static partial void LogClientDropped(ILogger logger, long id, string remote, string reason);
}
