using System.Buffers.Binary;
using System.Net;
using System.Net.Sockets;
using System.Text;
using Whitesky.Nbd.Protocol;

namespace Whitesky.Nbd.Tests.Server.Hostile;

/// <summary>One reply read off the wire: a simple reply, or one structured chunk.</summary>
internal sealed record RawReply(bool Structured, ulong Cookie, uint Error, ushort Flags, ushort Type, byte[] Payload)
{
    public bool IsDone => !Structured || (Flags & NbdWire.NBD_REPLY_FLAG_DONE) != 0;
}

/// <summary>
/// An NBD client written byte by byte, so a test can send what no real client would: garbage flags,
/// wrong magics, lengths that lie, requests past the end, half a payload. Every call is bounded by
/// <see cref="Limit"/> so a server that stops answering fails the test instead of hanging it.
/// </summary>
internal sealed class RawNbdClient : IAsyncDisposable
{
    public static readonly TimeSpan Limit = TimeSpan.FromSeconds(20);

    private readonly Socket _socket;

    private RawNbdClient(Socket socket)
    {
        _socket = socket;
        Stream = new NetworkStream(socket, ownsSocket: false);
        LocalEndpoint = socket.LocalEndPoint is IPEndPoint ip ? ip.ToString() : string.Empty;
    }

    /// <summary>The stream requests go over; replaced by a TLS stream after STARTTLS.</summary>
    public Stream Stream { get; set; }

    /// <summary>As the server sees this client (its RemoteEndpoint); empty for Unix sockets.</summary>
    public string LocalEndpoint { get; }

    public static async Task<RawNbdClient> ConnectAsync(NbdEndpoint endpoint)
    {
        Socket socket;
        EndPoint target;
        switch (endpoint)
        {
            case NbdUnixEndpoint unix:
                socket = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
                target = new UnixDomainSocketEndPoint(unix.Path);
                break;
            case NbdTcpEndpoint tcp:
                socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
                target = new IPEndPoint(IPAddress.Parse(tcp.Host), tcp.Port);
                break;
            default:
                throw new ArgumentException("Unknown endpoint.", nameof(endpoint));
        }

        try
        {
            await socket.ConnectAsync(target).WaitAsync(Limit);
        }
        catch
        {
            socket.Dispose();
            throw;
        }

        return new RawNbdClient(socket);
    }

    // Handshake ------------------------------------------------------------------------------------

    /// <summary>Reads the 18-byte greeting and checks it is fixed newstyle.</summary>
    public async Task ReadGreetingAsync()
    {
        var greeting = await ReadExactAsync(18);
        Assert.Equal(NbdWire.NBDMAGIC, BinaryPrimitives.ReadUInt64BigEndian(greeting));
        Assert.Equal(NbdWire.IHAVEOPT, BinaryPrimitives.ReadUInt64BigEndian(greeting.AsSpan(8)));
        Assert.Equal(NbdWire.NBD_FLAG_FIXED_NEWSTYLE | NbdWire.NBD_FLAG_NO_ZEROES, BinaryPrimitives.ReadUInt16BigEndian(greeting.AsSpan(16)) & 3);
    }

    public Task SendClientFlagsAsync(uint flags = NbdWire.NBD_FLAG_C_FIXED_NEWSTYLE | NbdWire.NBD_FLAG_C_NO_ZEROES)
    {
        var bytes = new byte[4];
        BinaryPrimitives.WriteUInt32BigEndian(bytes, flags);
        return SendAsync(bytes);
    }

    /// <summary>The greeting and the usual client flags.</summary>
    public async Task StartAsync()
    {
        await ReadGreetingAsync();
        await SendClientFlagsAsync();
    }

    /// <summary>NBD_OPT_STARTTLS, then the TLS-PSK handshake; everything after goes through TLS.</summary>
    public async Task StartTlsAsync(NbdTlsPsk psk)
    {
        var reply = Assert.Single(await OptionAsync(NbdWire.NBD_OPT_STARTTLS, []));
        Assert.Equal(NbdWire.NBD_REP_ACK, reply.Type);
        Stream = await Whitesky.Nbd.Tls.PskTls.ConnectClientAsync(Stream, psk, CancellationToken.None).WaitAsync(Limit);
    }

    /// <summary>An option header exactly as given (the length need not match what follows).</summary>
    public static byte[] OptionHeader(uint option, uint length, ulong magic = NbdWire.IHAVEOPT)
    {
        var header = new byte[16];
        BinaryPrimitives.WriteUInt64BigEndian(header, magic);
        BinaryPrimitives.WriteUInt32BigEndian(header.AsSpan(8), option);
        BinaryPrimitives.WriteUInt32BigEndian(header.AsSpan(12), length);
        return header;
    }

    public Task SendOptionAsync(uint option, byte[] data) => SendAsync(Concat(OptionHeader(option, (uint)data.Length), data));

    public async Task<(uint Option, uint Type, byte[] Payload)> ReadOptionReplyAsync()
    {
        var header = await ReadExactAsync(20);
        Assert.Equal(NbdWire.OPTION_REPLY_MAGIC, BinaryPrimitives.ReadUInt64BigEndian(header));
        var length = BinaryPrimitives.ReadUInt32BigEndian(header.AsSpan(16));
        Assert.InRange(length, 0u, 64u * 1024);
        var payload = await ReadExactAsync((int)length);
        return (BinaryPrimitives.ReadUInt32BigEndian(header.AsSpan(8)), BinaryPrimitives.ReadUInt32BigEndian(header.AsSpan(12)), payload);
    }

    /// <summary>Sends an option and returns its replies up to the final one (an ACK or an error).</summary>
    public async Task<List<(uint Type, byte[] Payload)>> OptionAsync(uint option, byte[] data)
    {
        await SendOptionAsync(option, data);
        var replies = new List<(uint Type, byte[] Payload)>();
        while (true)
        {
            var (answered, type, payload) = await ReadOptionReplyAsync();
            Assert.Equal(option, answered);
            replies.Add((type, payload));
            if (type == NbdWire.NBD_REP_ACK || (type & NbdWire.NBD_REP_FLAG_ERROR) != 0)
            {
                return replies;
            }
        }
    }

    /// <summary>The data of NBD_OPT_INFO / NBD_OPT_GO: name length, name, no information requests.</summary>
    public static byte[] ExportRequest(string name)
    {
        var bytes = Encoding.UTF8.GetBytes(name);
        var data = new byte[4 + bytes.Length + 2];
        BinaryPrimitives.WriteUInt32BigEndian(data, (uint)bytes.Length);
        bytes.CopyTo(data, 4);
        return data;
    }

    /// <summary>The data of NBD_OPT_SET_META_CONTEXT for one context.</summary>
    public static byte[] MetaContextRequest(string export, string context)
    {
        var name = Encoding.UTF8.GetBytes(export);
        var query = Encoding.UTF8.GetBytes(context);
        var data = new byte[4 + name.Length + 4 + 4 + query.Length];
        BinaryPrimitives.WriteUInt32BigEndian(data, (uint)name.Length);
        name.CopyTo(data, 4);
        BinaryPrimitives.WriteUInt32BigEndian(data.AsSpan(4 + name.Length), 1);
        BinaryPrimitives.WriteUInt32BigEndian(data.AsSpan(8 + name.Length), (uint)query.Length);
        query.CopyTo(data, 12 + name.Length);
        return data;
    }

    /// <summary>NBD_OPT_GO after the greeting and flags were exchanged; returns the export's size and flags.</summary>
    public async Task<(long Size, NbdTransmissionFlags Flags)> GoAsync(string export, bool structured = false, bool baseAllocation = false)
    {
        if (structured)
        {
            var reply = await OptionAsync(NbdWire.NBD_OPT_STRUCTURED_REPLY, []);
            Assert.Equal(NbdWire.NBD_REP_ACK, Assert.Single(reply).Type);
        }

        if (baseAllocation)
        {
            var replies = await OptionAsync(NbdWire.NBD_OPT_SET_META_CONTEXT, MetaContextRequest(export, NbdWire.BaseAllocationContext));
            Assert.Equal([NbdWire.NBD_REP_META_CONTEXT, NbdWire.NBD_REP_ACK], replies.Select(r => r.Type));
        }

        long size = -1;
        var flags = NbdTransmissionFlags.None;
        foreach (var (type, payload) in await OptionAsync(NbdWire.NBD_OPT_GO, ExportRequest(export)))
        {
            Assert.True(type is NbdWire.NBD_REP_INFO or NbdWire.NBD_REP_ACK, $"NBD_OPT_GO answered with reply type 0x{type:x}");
            if (type == NbdWire.NBD_REP_INFO && BinaryPrimitives.ReadUInt16BigEndian(payload) == NbdWire.NBD_INFO_EXPORT)
            {
                size = (long)BinaryPrimitives.ReadUInt64BigEndian(payload.AsSpan(2));
                flags = (NbdTransmissionFlags)BinaryPrimitives.ReadUInt16BigEndian(payload.AsSpan(10));
            }
        }

        Assert.True(size >= 0, "NBD_OPT_GO was acknowledged without NBD_INFO_EXPORT");
        return (size, flags);
    }

    // Transmission ---------------------------------------------------------------------------------

    /// <summary>A request header exactly as given.</summary>
    public static byte[] Request(NbdCommand command, ulong cookie, ulong offset, uint length, NbdCommandFlags flags = NbdCommandFlags.None,
        uint magic = NbdWire.NBD_REQUEST_MAGIC)
    {
        var header = new byte[NbdWire.RequestHeaderSize];
        BinaryPrimitives.WriteUInt32BigEndian(header, magic);
        BinaryPrimitives.WriteUInt16BigEndian(header.AsSpan(4), (ushort)flags);
        BinaryPrimitives.WriteUInt16BigEndian(header.AsSpan(6), (ushort)command);
        BinaryPrimitives.WriteUInt64BigEndian(header.AsSpan(8), cookie);
        BinaryPrimitives.WriteUInt64BigEndian(header.AsSpan(16), offset);
        BinaryPrimitives.WriteUInt32BigEndian(header.AsSpan(24), length);
        return header;
    }

    public Task SendRequestAsync(NbdCommand command, ulong cookie, ulong offset, uint length, NbdCommandFlags flags = NbdCommandFlags.None, byte[]? payload = null) =>
        SendAsync(Concat(Request(command, cookie, offset, length, flags), payload ?? []));

    /// <summary>
    /// Reads one reply. <paramref name="simpleReadLength"/> is the data a successful simple reply carries
    /// (only the client knows it: the length of the READ it answers).
    /// </summary>
    public async Task<RawReply> ReadReplyAsync(int simpleReadLength = 0)
    {
        var magic = BinaryPrimitives.ReadUInt32BigEndian(await ReadExactAsync(4));
        if (magic == NbdWire.NBD_SIMPLE_REPLY_MAGIC)
        {
            var rest = await ReadExactAsync(12);
            var error = BinaryPrimitives.ReadUInt32BigEndian(rest);
            var cookie = BinaryPrimitives.ReadUInt64BigEndian(rest.AsSpan(4));
            var data = error == 0 ? await ReadExactAsync(simpleReadLength) : [];
            return new RawReply(false, cookie, error, 0, 0, data);
        }

        Assert.Equal(NbdWire.NBD_STRUCTURED_REPLY_MAGIC, magic);
        var chunk = await ReadExactAsync(16);
        var length = BinaryPrimitives.ReadUInt32BigEndian(chunk.AsSpan(12));
        Assert.InRange(length, 0u, 64u << 20);
        var payload = await ReadExactAsync((int)length);
        var type = BinaryPrimitives.ReadUInt16BigEndian(chunk.AsSpan(2));
        var chunkError = (type & NbdWire.NBD_REPLY_TYPE_ERROR_BIT) != 0 ? BinaryPrimitives.ReadUInt32BigEndian(payload) : 0;
        return new RawReply(true, BinaryPrimitives.ReadUInt64BigEndian(chunk.AsSpan(4)), chunkError,
            BinaryPrimitives.ReadUInt16BigEndian(chunk), type, payload);
    }

    /// <summary>A READ that must succeed: the data of a simple reply, or of one OFFSET_DATA chunk when structured replies are on.</summary>
    public async Task<byte[]> ReadAsync(ulong cookie, long offset, int length)
    {
        await SendRequestAsync(NbdCommand.Read, cookie, (ulong)offset, (uint)length);
        var reply = await ReadReplyAsync(length);
        Assert.Equal(cookie, reply.Cookie);
        Assert.Equal(0u, reply.Error);
        if (!reply.Structured)
        {
            return reply.Payload;
        }

        Assert.True(reply.IsDone);
        Assert.Equal(NbdWire.NBD_REPLY_TYPE_OFFSET_DATA, reply.Type);
        Assert.Equal((ulong)offset, BinaryPrimitives.ReadUInt64BigEndian(reply.Payload));
        return reply.Payload[8..];
    }

    // Bytes ----------------------------------------------------------------------------------------

    public static byte[] Concat(params byte[][] parts)
    {
        var all = new byte[parts.Sum(p => p.Length)];
        var at = 0;
        foreach (var part in parts)
        {
            part.CopyTo(all, at);
            at += part.Length;
        }

        return all;
    }

    public async Task SendAsync(ReadOnlyMemory<byte> bytes)
    {
        await Stream.WriteAsync(bytes).AsTask().WaitAsync(Limit);
        await Stream.FlushAsync().WaitAsync(Limit);
    }

    public async Task<byte[]> ReadExactAsync(int length)
    {
        var buffer = new byte[length];
        await Stream.ReadExactlyAsync(buffer).AsTask().WaitAsync(Limit);
        return buffer;
    }

    /// <summary>
    /// Waits until the server closes the connection and returns whatever it still sent. A reset counts as
    /// closed (Linux resets when the server closes with unread data). Fails when the connection is still
    /// open after <paramref name="within"/>.
    /// </summary>
    public async Task<byte[]> WaitForServerCloseAsync(TimeSpan within)
    {
        using var deadline = new CancellationTokenSource(within);
        var received = new MemoryStream();
        var buffer = new byte[64 * 1024];
        try
        {
            while (true)
            {
                var read = await Stream.ReadAsync(buffer, deadline.Token);
                if (read == 0)
                {
                    return received.ToArray();
                }

                Assert.True(received.Length < (1 << 20), "The server kept sending after it should have closed.");
                received.Write(buffer, 0, read);
            }
        }
        catch (OperationCanceledException) when (deadline.IsCancellationRequested)
        {
            throw new TimeoutException($"The server kept the connection open for {within.TotalSeconds:0.#} s.");
        }
        catch (IOException ex) when (ex.InnerException is SocketException { SocketErrorCode: SocketError.ConnectionReset })
        {
            return received.ToArray();
        }
    }

    /// <summary>Sends what may no longer arrive: the server may already have closed (EPIPE, reset).</summary>
    public async Task TrySendAsync(byte[] bytes)
    {
        try
        {
            await SendAsync(bytes);
        }
        catch (IOException)
        {
        }
    }

    /// <summary>Drops the connection at once, with a reset (a client that vanishes).</summary>
    public void Abort() => _socket.Close(0);

    /// <summary>Closes the connection in order (FIN): the server reads end of stream.</summary>
    public void Close()
    {
        _socket.Shutdown(SocketShutdown.Both);
        _socket.Close();
    }

    public async ValueTask DisposeAsync()
    {
        try
        {
            await Stream.DisposeAsync();
        }
        catch (Exception ex) when (ex is IOException or ObjectDisposedException or SocketException or NbdException)
        {
        }

        _socket.Dispose();
    }
}
