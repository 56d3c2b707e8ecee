using System.Buffers.Binary;
using System.Globalization;
using System.Net.Security;
using System.Net.Sockets;
using System.Security.Authentication;
using System.Text;
using Whitesky.Nbd.Protocol;
using Whitesky.Nbd.Tls;

namespace Whitesky.Nbd.Client;

/// <summary>
/// The client side of the fixed-newstyle handshake: greeting, STARTTLS, and the options. It reads
/// exactly the bytes each message has (no read-ahead), so nothing read in plaintext can leak into the
/// TLS session (nbdkit CVE-2021-3716), and it never falls back to plaintext when TLS is required.
/// </summary>
internal sealed class NbdNegotiator : IAsyncDisposable
{
    /// <summary>Cap on any one option reply: the largest legal one is two 4096-byte strings and a header.</summary>
    private const int MaxOptionReplyLength = 16 * 1024;

    /// <summary>Cap on replies to one option (an export or context list), so a hostile server cannot make us loop forever.</summary>
    private const int MaxRepliesPerOption = 100_000;

    private readonly NbdClientOptions _options;
    private readonly Socket _socket;
    private readonly byte[] _header = new byte[NbdWire.OptionReplyHeaderSize];
    private Stream _stream;
    private bool _detached;

    private NbdNegotiator(NbdClientOptions options, Socket socket)
    {
        _options = options;
        _socket = socket;
        _stream = new NetworkStream(socket, ownsSocket: true);
    }

    public Stream Stream => _stream;

    public Socket Socket => _socket;

    public string? TlsKind { get; private set; }

    public bool StructuredReplies { get; private set; }

    /// <summary>Connects, reads the greeting and, when required, upgrades to TLS.</summary>
    public static async Task<NbdNegotiator> StartAsync(NbdClientOptions options, CancellationToken cancellationToken)
    {
        var socket = await NbdSocket.ConnectAsync(options.Endpoint, options.ConnectTimeout, cancellationToken).ConfigureAwait(false);
        var negotiator = new NbdNegotiator(options, socket);
        try
        {
            await negotiator.GreetAsync(cancellationToken).ConfigureAwait(false);
            if (options.TlsMode == NbdTlsMode.Required)
            {
                await negotiator.StartTlsAsync(cancellationToken).ConfigureAwait(false);
            }

            return negotiator;
        }
        catch
        {
            await negotiator.DisposeAsync().ConfigureAwait(false);
            throw;
        }
    }

    /// <summary>Hands the stream over to the transmission phase: disposing the negotiator no longer closes it.</summary>
    public Stream Detach()
    {
        _detached = true;
        return _stream;
    }

    public async ValueTask DisposeAsync()
    {
        if (!_detached)
        {
            await _stream.DisposeAsync().ConfigureAwait(false);
            _socket.Dispose();
        }
    }

    private async Task GreetAsync(CancellationToken cancellationToken)
    {
        var greeting = new byte[18];
        await ReadExactAsync(greeting, "the server greeting", cancellationToken).ConfigureAwait(false);
        var magic = BinaryPrimitives.ReadUInt64BigEndian(greeting);
        if (magic != NbdWire.NBDMAGIC)
        {
            throw new NbdProtocolException(string.Create(CultureInfo.InvariantCulture,
                $"The server at {_options.Endpoint} is not an NBD server (greeting magic 0x{magic:x16}, expected NBDMAGIC)."));
        }

        var style = BinaryPrimitives.ReadUInt64BigEndian(greeting.AsSpan(8));
        if (style == NbdWire.OLD_STYLE_MAGIC)
        {
            throw new NbdProtocolException($"The server at {_options.Endpoint} speaks the oldstyle handshake, which has no export names, options or TLS; only fixed newstyle is supported.");
        }

        if (style != NbdWire.IHAVEOPT)
        {
            throw new NbdProtocolException(string.Create(CultureInfo.InvariantCulture,
                $"The server at {_options.Endpoint} sent an unknown handshake magic 0x{style:x16}."));
        }

        var flags = BinaryPrimitives.ReadUInt16BigEndian(greeting.AsSpan(16));
        if ((flags & NbdWire.NBD_FLAG_FIXED_NEWSTYLE) == 0)
        {
            throw new NbdProtocolException($"The server at {_options.Endpoint} does not support fixed newstyle negotiation, which this client requires.");
        }

        var clientFlags = NbdWire.NBD_FLAG_C_FIXED_NEWSTYLE | ((flags & NbdWire.NBD_FLAG_NO_ZEROES) != 0 ? NbdWire.NBD_FLAG_C_NO_ZEROES : 0);
        var reply = new byte[4];
        BinaryPrimitives.WriteUInt32BigEndian(reply, clientFlags);
        await _stream.WriteAsync(reply, cancellationToken).ConfigureAwait(false);
    }

    private async Task StartTlsAsync(CancellationToken cancellationToken)
    {
        await SendOptionAsync(NbdWire.NBD_OPT_STARTTLS, ReadOnlyMemory<byte>.Empty, cancellationToken).ConfigureAwait(false);
        var (type, data) = await ReadOptionReplyAsync(NbdWire.NBD_OPT_STARTTLS, cancellationToken, allowTlsRequired: false).ConfigureAwait(false);
        if (type != NbdWire.NBD_REP_ACK)
        {
            var detail = (type & NbdWire.NBD_REP_FLAG_ERROR) != 0 ? ReplyName(type) + Message(data) : "reply " + ReplyName(type);
            throw new NbdTlsException(NbdTlsFailure.RefusedByServer,
                $"TLS is required but the NBD server at {_options.Endpoint} refused STARTTLS ({detail}); the connection was closed without sending anything in plaintext.");
        }

        if (data.Length != 0)
        {
            throw new NbdProtocolException("The server's ACK to NBD_OPT_STARTTLS carried data.");
        }

        var transport = _stream;
        if (_options.TlsPsk is { } psk)
        {
            _stream = await PskTls.ConnectClientAsync(transport, psk, cancellationToken).ConfigureAwait(false);
            TlsKind = "TLS-PSK";
        }
        else
        {
            var ssl = new SslStream(transport, leaveInnerStreamOpen: false);
            _stream = ssl;
            var host = _options.TlsHostName ?? (_options.Endpoint as NbdTcpEndpoint)?.Host ?? "localhost";
            try
            {
                await ssl.AuthenticateAsClientAsync(new SslClientAuthenticationOptions
                {
                    TargetHost = host,
                    EnabledSslProtocols = SslProtocols.Tls12 | SslProtocols.Tls13,
                    RemoteCertificateValidationCallback = _options.ServerCertificateValidation,
                    ClientCertificates = _options.ClientCertificates,
                }, cancellationToken).ConfigureAwait(false);
            }
            catch (AuthenticationException ex)
            {
                throw new NbdTlsException(NbdTlsFailure.AuthenticationFailed,
                    $"The X.509 TLS handshake with the NBD server at {_options.Endpoint} failed: {ex.Message}", ex);
            }
            catch (IOException ex)
            {
                throw new NbdTlsException(NbdTlsFailure.HandshakeFailed,
                    $"The X.509 TLS handshake with the NBD server at {_options.Endpoint} failed: {ex.Message}", ex);
            }

            TlsKind = "X.509";
        }
    }

    public async Task<bool> NegotiateStructuredRepliesAsync(CancellationToken cancellationToken)
    {
        await SendOptionAsync(NbdWire.NBD_OPT_STRUCTURED_REPLY, ReadOnlyMemory<byte>.Empty, cancellationToken).ConfigureAwait(false);
        var (type, data) = await ReadOptionReplyAsync(NbdWire.NBD_OPT_STRUCTURED_REPLY, cancellationToken).ConfigureAwait(false);
        if (type == NbdWire.NBD_REP_ACK)
        {
            if (data.Length != 0)
            {
                throw new NbdProtocolException("The server's ACK to NBD_OPT_STRUCTURED_REPLY carried data.");
            }

            StructuredReplies = true;
            return true;
        }

        if ((type & NbdWire.NBD_REP_FLAG_ERROR) != 0)
        {
            return false;
        }

        throw new NbdProtocolException($"The server answered NBD_OPT_STRUCTURED_REPLY with {ReplyName(type)}.");
    }

    /// <summary><c>NBD_OPT_SET_META_CONTEXT</c> (or LIST): returns context id → name.</summary>
    public async Task<Dictionary<uint, string>> MetaContextsAsync(bool set, string exportName, IReadOnlyList<string> queries, CancellationToken cancellationToken)
    {
        var option = set ? NbdWire.NBD_OPT_SET_META_CONTEXT : NbdWire.NBD_OPT_LIST_META_CONTEXT;
        var payload = new MemoryStream();
        WriteString(payload, exportName);
        WriteUInt32(payload, (uint)queries.Count);
        foreach (var query in queries)
        {
            WriteString(payload, query);
        }

        await SendOptionAsync(option, payload.ToArray(), cancellationToken).ConfigureAwait(false);
        var contexts = new Dictionary<uint, string>();
        var names = new List<string>();
        for (var i = 0; ; i++)
        {
            if (i > MaxRepliesPerOption)
            {
                throw new NbdProtocolException("The server sent more meta context replies than any sane server would.");
            }

            var (type, data) = await ReadOptionReplyAsync(option, cancellationToken).ConfigureAwait(false);
            if (type == NbdWire.NBD_REP_ACK)
            {
                break;
            }

            if (type == NbdWire.NBD_REP_META_CONTEXT)
            {
                if (data.Length < 5 || data.Length > 4 + NbdWire.MaxStringLength)
                {
                    throw new NbdProtocolException(string.Create(CultureInfo.InvariantCulture,
                        $"NBD_REP_META_CONTEXT has an invalid length {data.Length}."));
                }

                var id = BinaryPrimitives.ReadUInt32BigEndian(data);
                var name = DecodeString(data.AsSpan(4), "meta context name");
                if (set)
                {
                    if (!queries.Contains(name, StringComparer.Ordinal))
                    {
                        throw new NbdProtocolException($"The server selected meta context '{NbdException.Sanitize(name)}', which was not requested.");
                    }

                    if (!contexts.TryAdd(id, name))
                    {
                        throw new NbdProtocolException(string.Create(CultureInfo.InvariantCulture,
                            $"The server gave meta context id {id} to two contexts."));
                    }
                }
                else
                {
                    contexts[(uint)names.Count] = name;
                    names.Add(name);
                }

                continue;
            }

            if ((type & NbdWire.NBD_REP_FLAG_ERROR) != 0)
            {
                if (type == NbdWire.NBD_REP_ERR_UNKNOWN)
                {
                    throw new NbdOptionException($"The NBD server has no export named '{NbdException.Sanitize(exportName)}'{Message(data)}.", ReplyName(type), DecodeMessage(data));
                }

                // Servers without meta context support answer NBD_REP_ERR_UNSUP: no contexts then.
                return contexts;
            }

            throw new NbdProtocolException($"Unexpected reply {ReplyName(type)} to {OptionName(option)}.");
        }

        return contexts;
    }

    /// <summary><c>NBD_OPT_GO</c> or <c>NBD_OPT_INFO</c>, asking for the block size constraints.</summary>
    public async Task<NbdExportInfo> GoAsync(bool go, string exportName, IReadOnlyList<string> contexts, CancellationToken cancellationToken)
    {
        var option = go ? NbdWire.NBD_OPT_GO : NbdWire.NBD_OPT_INFO;
        var payload = new MemoryStream();
        WriteString(payload, exportName);
        Span<byte> two = stackalloc byte[2];
        BinaryPrimitives.WriteUInt16BigEndian(two, 2);
        payload.Write(two);
        BinaryPrimitives.WriteUInt16BigEndian(two, NbdWire.NBD_INFO_BLOCK_SIZE);
        payload.Write(two);
        BinaryPrimitives.WriteUInt16BigEndian(two, NbdWire.NBD_INFO_DESCRIPTION);
        payload.Write(two);
        await SendOptionAsync(option, payload.ToArray(), cancellationToken).ConfigureAwait(false);

        long? size = null;
        var flags = NbdTransmissionFlags.None;
        uint min = 1, preferred = 4096, max = NbdWire.DefaultMaxPayload;
        var blockSizeSeen = false;
        string? description = null;
        for (var i = 0; ; i++)
        {
            if (i > 64)
            {
                throw new NbdProtocolException($"The server sent too many NBD_REP_INFO replies to {OptionName(option)}.");
            }

            var (type, data) = await ReadOptionReplyAsync(option, cancellationToken).ConfigureAwait(false);
            if (type == NbdWire.NBD_REP_ACK)
            {
                break;
            }

            if (type == NbdWire.NBD_REP_INFO)
            {
                if (data.Length < 2)
                {
                    throw new NbdProtocolException("NBD_REP_INFO is shorter than its type field.");
                }

                var infoType = BinaryPrimitives.ReadUInt16BigEndian(data);
                switch (infoType)
                {
                    case NbdWire.NBD_INFO_EXPORT:
                        if (data.Length != 12)
                        {
                            throw new NbdProtocolException(string.Create(CultureInfo.InvariantCulture, $"NBD_INFO_EXPORT has length {data.Length}, expected 12."));
                        }

                        var rawSize = BinaryPrimitives.ReadUInt64BigEndian(data.AsSpan(2));
                        if (rawSize > long.MaxValue)
                        {
                            throw new NbdProtocolException(string.Create(CultureInfo.InvariantCulture, $"The export size {rawSize} is larger than 2^63 - 1."));
                        }

                        size = (long)rawSize;
                        flags = (NbdTransmissionFlags)BinaryPrimitives.ReadUInt16BigEndian(data.AsSpan(10));
                        if (!flags.HasFlag(NbdTransmissionFlags.HasFlags))
                        {
                            throw new NbdProtocolException("The export's transmission flags lack NBD_FLAG_HAS_FLAGS.");
                        }

                        break;
                    case NbdWire.NBD_INFO_BLOCK_SIZE:
                        if (data.Length != 14)
                        {
                            throw new NbdProtocolException(string.Create(CultureInfo.InvariantCulture, $"NBD_INFO_BLOCK_SIZE has length {data.Length}, expected 14."));
                        }

                        min = BinaryPrimitives.ReadUInt32BigEndian(data.AsSpan(2));
                        preferred = BinaryPrimitives.ReadUInt32BigEndian(data.AsSpan(6));
                        max = BinaryPrimitives.ReadUInt32BigEndian(data.AsSpan(10));
                        ValidateBlockSizes(min, preferred, max);
                        blockSizeSeen = true;
                        break;
                    case NbdWire.NBD_INFO_DESCRIPTION:
                        description = DecodeString(data.AsSpan(2), "export description");
                        break;
                    default:
                        // NBD_INFO_NAME and future types: ignore, as the spec asks.
                        break;
                }

                continue;
            }

            if ((type & NbdWire.NBD_REP_FLAG_ERROR) != 0)
            {
                var text = DecodeMessage(data);
                throw type switch
                {
                    NbdWire.NBD_REP_ERR_UNKNOWN => new NbdOptionException(
                        $"The NBD server at {_options.Endpoint} has no export named '{NbdException.Sanitize(exportName)}'{Message(data)}.", ReplyName(type), text),
                    NbdWire.NBD_REP_ERR_UNSUP => new NbdOptionException(
                        $"The NBD server at {_options.Endpoint} does not support {OptionName(option)}; it is too old for this client{Message(data)}.", ReplyName(type), text),
                    _ => new NbdOptionException(
                        $"The NBD server at {_options.Endpoint} refused export '{NbdException.Sanitize(exportName)}' with {ReplyName(type)}{Message(data)}.", ReplyName(type), text),
                };
            }

            throw new NbdProtocolException($"Unexpected reply {ReplyName(type)} to {OptionName(option)}.");
        }

        if (size is null)
        {
            throw new NbdProtocolException($"The server ended {OptionName(option)} without NBD_INFO_EXPORT.");
        }

        return new NbdExportInfo
        {
            Name = exportName,
            Description = description,
            Size = size.Value,
            Flags = flags,
            MinimumBlockSize = (int)min,
            PreferredBlockSize = (int)Math.Min(preferred, NbdWire.DefaultMaxPayload),
            MaximumPayloadSize = (int)Math.Min(max, (uint)NbdWire.DefaultMaxPayload),
            BlockSizeAdvertised = blockSizeSeen,
            StructuredReplies = StructuredReplies,
            MetaContexts = contexts,
            Tls = TlsKind,
        };
    }

    public async Task<List<NbdExportListing>> ListAsync(CancellationToken cancellationToken)
    {
        await SendOptionAsync(NbdWire.NBD_OPT_LIST, ReadOnlyMemory<byte>.Empty, cancellationToken).ConfigureAwait(false);
        var result = new List<NbdExportListing>();
        for (var i = 0; ; i++)
        {
            if (i > MaxRepliesPerOption)
            {
                throw new NbdProtocolException("The server sent more export list entries than any sane server would.");
            }

            var (type, data) = await ReadOptionReplyAsync(NbdWire.NBD_OPT_LIST, cancellationToken).ConfigureAwait(false);
            if (type == NbdWire.NBD_REP_ACK)
            {
                return result;
            }

            if (type == NbdWire.NBD_REP_SERVER)
            {
                if (data.Length < 4)
                {
                    throw new NbdProtocolException("NBD_REP_SERVER is shorter than its name length.");
                }

                var nameLength = BinaryPrimitives.ReadUInt32BigEndian(data);
                if (nameLength > data.Length - 4 || nameLength > NbdWire.MaxStringLength)
                {
                    throw new NbdProtocolException(string.Create(CultureInfo.InvariantCulture,
                        $"NBD_REP_SERVER names a {nameLength}-byte export name in a {data.Length}-byte reply."));
                }

                var name = DecodeString(data.AsSpan(4, (int)nameLength), "export name");
                var description = DecodeString(data.AsSpan(4 + (int)nameLength), "export description");
                result.Add(new NbdExportListing(name, description));
                continue;
            }

            if ((type & NbdWire.NBD_REP_FLAG_ERROR) != 0)
            {
                throw new NbdOptionException($"The NBD server at {_options.Endpoint} refused to list its exports ({ReplyName(type)}{Message(data)}).", ReplyName(type), DecodeMessage(data));
            }

            throw new NbdProtocolException($"Unexpected reply {ReplyName(type)} to NBD_OPT_LIST.");
        }
    }

    /// <summary>Ends the negotiation politely (<c>NBD_OPT_ABORT</c>); errors are ignored, the connection is closed anyway.</summary>
    public async Task AbortAsync(CancellationToken cancellationToken)
    {
        try
        {
            await SendOptionAsync(NbdWire.NBD_OPT_ABORT, ReadOnlyMemory<byte>.Empty, cancellationToken).ConfigureAwait(false);
        }
        catch (IOException)
        {
        }
        catch (ObjectDisposedException)
        {
        }
    }

    private async Task SendOptionAsync(uint option, ReadOnlyMemory<byte> data, CancellationToken cancellationToken)
    {
        var buffer = new byte[NbdWire.OptionHeaderSize + data.Length];
        BinaryPrimitives.WriteUInt64BigEndian(buffer, NbdWire.IHAVEOPT);
        BinaryPrimitives.WriteUInt32BigEndian(buffer.AsSpan(8), option);
        BinaryPrimitives.WriteUInt32BigEndian(buffer.AsSpan(12), (uint)data.Length);
        data.Span.CopyTo(buffer.AsSpan(NbdWire.OptionHeaderSize));
        await _stream.WriteAsync(buffer, cancellationToken).ConfigureAwait(false);
        await _stream.FlushAsync(cancellationToken).ConfigureAwait(false);
    }

    private async Task<(uint Type, byte[] Data)> ReadOptionReplyAsync(uint option, CancellationToken cancellationToken, bool allowTlsRequired = true)
    {
        await ReadExactAsync(_header, "an option reply", cancellationToken).ConfigureAwait(false);
        var magic = BinaryPrimitives.ReadUInt64BigEndian(_header);
        if (magic != NbdWire.OPTION_REPLY_MAGIC)
        {
            throw new NbdProtocolException(string.Create(CultureInfo.InvariantCulture,
                $"Bad option reply magic 0x{magic:x16} in the reply to {OptionName(option)}."));
        }

        var echoed = BinaryPrimitives.ReadUInt32BigEndian(_header.AsSpan(8));
        if (echoed != option)
        {
            throw new NbdProtocolException($"The server replied to {OptionName(echoed)} while {OptionName(option)} was pending.");
        }

        var type = BinaryPrimitives.ReadUInt32BigEndian(_header.AsSpan(12));
        var length = BinaryPrimitives.ReadUInt32BigEndian(_header.AsSpan(16));
        if (length > MaxOptionReplyLength)
        {
            throw new NbdProtocolException(string.Create(CultureInfo.InvariantCulture,
                $"The server's {ReplyName(type)} reply to {OptionName(option)} claims {length} bytes; the limit is {MaxOptionReplyLength}."));
        }

        var data = length == 0 ? [] : new byte[length];
        await ReadExactAsync(data, "an option reply payload", cancellationToken).ConfigureAwait(false);
        if (type == NbdWire.NBD_REP_ERR_TLS_REQD && allowTlsRequired)
        {
            throw new NbdTlsException(NbdTlsFailure.RequiredByServer,
                $"The NBD server at {_options.Endpoint} requires TLS (NBD_REP_ERR_TLS_REQD to {OptionName(option)}); connect with nbds:// or TlsMode = Required and a key{Message(data)}.");
        }

        return (type, data);
    }

    private async Task ReadExactAsync(Memory<byte> buffer, string what, CancellationToken cancellationToken)
    {
        try
        {
            await _stream.ReadExactlyAsync(buffer, cancellationToken).ConfigureAwait(false);
        }
        catch (EndOfStreamException ex)
        {
            throw new NbdConnectionException($"The NBD server at {_options.Endpoint} closed the connection during the handshake, while {what} was expected.", ex);
        }
        catch (IOException ex) when (ex is not NbdException)
        {
            throw new NbdConnectionException($"The connection to the NBD server at {_options.Endpoint} failed during the handshake ({what}): {ex.Message}", ex);
        }
    }

    private static void ValidateBlockSizes(uint min, uint preferred, uint max)
    {
        if (min == 0 || min > 65536 || !uint.IsPow2(min))
        {
            throw new NbdProtocolException(string.Create(CultureInfo.InvariantCulture, $"NBD_INFO_BLOCK_SIZE minimum {min} is not a power of two from 1 to 64 KiB."));
        }

        if (preferred < Math.Max(min, 512) || !uint.IsPow2(preferred))
        {
            throw new NbdProtocolException(string.Create(CultureInfo.InvariantCulture, $"NBD_INFO_BLOCK_SIZE preferred {preferred} is not a power of two of at least max(minimum, 512)."));
        }

        if (max < min || (max != uint.MaxValue && max % min != 0))
        {
            throw new NbdProtocolException(string.Create(CultureInfo.InvariantCulture, $"NBD_INFO_BLOCK_SIZE maximum {max} is not a multiple of the minimum {min}."));
        }
    }

    private static void WriteString(MemoryStream stream, string value)
    {
        var bytes = Encoding.UTF8.GetBytes(value);
        WriteUInt32(stream, (uint)bytes.Length);
        stream.Write(bytes);
    }

    private static void WriteUInt32(MemoryStream stream, uint value)
    {
        Span<byte> four = stackalloc byte[4];
        BinaryPrimitives.WriteUInt32BigEndian(four, value);
        stream.Write(four);
    }

    private static string DecodeString(ReadOnlySpan<byte> bytes, string what)
    {
        if (bytes.Length > NbdWire.MaxStringLength)
        {
            throw new NbdProtocolException(string.Create(CultureInfo.InvariantCulture, $"The server's {what} is {bytes.Length} bytes; the limit is 4096."));
        }

        return Encoding.UTF8.GetString(bytes);
    }

    private static string? DecodeMessage(byte[] data) =>
        data.Length == 0 ? null : Encoding.UTF8.GetString(data.AsSpan(0, Math.Min(data.Length, NbdWire.MaxStringLength)));

    private static string Message(byte[] data) => DecodeMessage(data) is { Length: > 0 } text ? ": " + NbdException.Sanitize(text) : string.Empty;

    internal static string OptionName(uint option) => option switch
    {
        NbdWire.NBD_OPT_EXPORT_NAME => "NBD_OPT_EXPORT_NAME",
        NbdWire.NBD_OPT_ABORT => "NBD_OPT_ABORT",
        NbdWire.NBD_OPT_LIST => "NBD_OPT_LIST",
        NbdWire.NBD_OPT_STARTTLS => "NBD_OPT_STARTTLS",
        NbdWire.NBD_OPT_INFO => "NBD_OPT_INFO",
        NbdWire.NBD_OPT_GO => "NBD_OPT_GO",
        NbdWire.NBD_OPT_STRUCTURED_REPLY => "NBD_OPT_STRUCTURED_REPLY",
        NbdWire.NBD_OPT_LIST_META_CONTEXT => "NBD_OPT_LIST_META_CONTEXT",
        NbdWire.NBD_OPT_SET_META_CONTEXT => "NBD_OPT_SET_META_CONTEXT",
        NbdWire.NBD_OPT_EXTENDED_HEADERS => "NBD_OPT_EXTENDED_HEADERS",
        _ => "option " + option.ToString(CultureInfo.InvariantCulture),
    };

    internal static string ReplyName(uint type) => type switch
    {
        NbdWire.NBD_REP_ACK => "NBD_REP_ACK",
        NbdWire.NBD_REP_SERVER => "NBD_REP_SERVER",
        NbdWire.NBD_REP_INFO => "NBD_REP_INFO",
        NbdWire.NBD_REP_META_CONTEXT => "NBD_REP_META_CONTEXT",
        NbdWire.NBD_REP_ERR_UNSUP => "NBD_REP_ERR_UNSUP",
        NbdWire.NBD_REP_ERR_POLICY => "NBD_REP_ERR_POLICY",
        NbdWire.NBD_REP_ERR_INVALID => "NBD_REP_ERR_INVALID",
        NbdWire.NBD_REP_ERR_PLATFORM => "NBD_REP_ERR_PLATFORM",
        NbdWire.NBD_REP_ERR_TLS_REQD => "NBD_REP_ERR_TLS_REQD",
        NbdWire.NBD_REP_ERR_UNKNOWN => "NBD_REP_ERR_UNKNOWN",
        NbdWire.NBD_REP_ERR_SHUTDOWN => "NBD_REP_ERR_SHUTDOWN",
        NbdWire.NBD_REP_ERR_BLOCK_SIZE_REQD => "NBD_REP_ERR_BLOCK_SIZE_REQD",
        NbdWire.NBD_REP_ERR_TOO_BIG => "NBD_REP_ERR_TOO_BIG",
        NbdWire.NBD_REP_ERR_EXT_HEADER_REQD => "NBD_REP_ERR_EXT_HEADER_REQD",
        _ => string.Create(CultureInfo.InvariantCulture, $"reply type 0x{type:x8}"),
    };
}
