using System.Buffers.Binary;
using System.Net.Sockets;
using System.Text;

namespace Whitesky.Nbd.Tests.Hostile;

/// <summary>
/// The server end of one connection to <see cref="ScriptedNbdServer"/>: a raw writer, a request parser,
/// and a valid fixed-newstyle handshake a script can run before it starts misbehaving.
/// </summary>
public sealed class FakeNbdPeer : IDisposable
{
    private readonly Socket _socket;
    private readonly NetworkStream _stream;
    private readonly CancellationToken _stopping;
    private readonly List<uint> _options = [];

    internal FakeNbdPeer(Socket socket, CancellationToken stopping)
    {
        _socket = socket;
        _stream = new NetworkStream(socket, ownsSocket: true);
        _stopping = stopping;
    }

    /// <summary>The options the client sent during the handshake, in order.</summary>
    public IReadOnlyList<uint> OptionsReceived => _options;

    /// <summary>The flags the client answered the greeting with.</summary>
    public uint ClientFlags { get; private set; }

    /// <summary>Whether <see cref="HandshakeAsync"/> agreed to structured replies.</summary>
    public bool StructuredReplies { get; private set; }

    // Raw I/O ------------------------------------------------------------------------------------

    public async Task SendAsync(params byte[][] parts)
    {
        foreach (var part in parts)
        {
            await _stream.WriteAsync(part, _stopping);
        }

        await _stream.FlushAsync(_stopping);
    }

    /// <summary>Sends FIN: the client sees a clean end of stream (not a reset) after what was sent.</summary>
    public void EndOutput() => _socket.Shutdown(SocketShutdown.Send);

    /// <summary>Reads exactly <paramref name="count"/> bytes, or returns null when the client closed before the first one.</summary>
    public async Task<byte[]?> TryReadExactAsync(int count)
    {
        var buffer = new byte[count];
        var filled = 0;
        while (filled < count)
        {
            var read = await _stream.ReadAsync(buffer.AsMemory(filled), _stopping);
            if (read == 0)
            {
                return filled == 0 ? null : throw new EndOfStreamException($"The client closed the connection after {filled} of {count} bytes.");
            }

            filled += read;
        }

        return buffer;
    }

    public async Task<byte[]> ReadExactAsync(int count) =>
        await TryReadExactAsync(count) ?? throw new EndOfStreamException($"The client closed the connection while {count} bytes were expected.");

    // Handshake ----------------------------------------------------------------------------------

    public Task SendGreetingAsync(ushort flags = FakeNbdWire.FlagFixedNewstyle | FakeNbdWire.FlagNoZeroes)
    {
        var greeting = new byte[18];
        BinaryPrimitives.WriteUInt64BigEndian(greeting, FakeNbdWire.NBDMAGIC);
        BinaryPrimitives.WriteUInt64BigEndian(greeting.AsSpan(8), FakeNbdWire.IHAVEOPT);
        BinaryPrimitives.WriteUInt16BigEndian(greeting.AsSpan(16), flags);
        return SendAsync(greeting);
    }

    public async Task<uint> ReadClientFlagsAsync()
    {
        ClientFlags = BinaryPrimitives.ReadUInt32BigEndian(await ReadExactAsync(4));
        return ClientFlags;
    }

    public async Task<(uint Option, byte[] Data)> ReadOptionAsync()
    {
        var header = await ReadExactAsync(16);
        var magic = BinaryPrimitives.ReadUInt64BigEndian(header);
        if (magic != FakeNbdWire.IHAVEOPT)
        {
            throw new InvalidDataException($"The client sent an option with magic 0x{magic:x16}.");
        }

        var option = BinaryPrimitives.ReadUInt32BigEndian(header.AsSpan(8));
        var length = BinaryPrimitives.ReadUInt32BigEndian(header.AsSpan(12));
        if (length > 64 * 1024)
        {
            throw new InvalidDataException($"The client sent a {length}-byte option.");
        }

        _options.Add(option);
        return (option, length == 0 ? [] : await ReadExactAsync((int)length));
    }

    /// <summary>An option reply; <paramref name="claimedLength"/> overrides the length field (the data sent stays <paramref name="data"/>).</summary>
    public Task SendOptionReplyAsync(uint option, uint type, byte[]? data = null, uint? claimedLength = null)
    {
        data ??= [];
        var reply = new byte[20 + data.Length];
        BinaryPrimitives.WriteUInt64BigEndian(reply, FakeNbdWire.OptionReplyMagic);
        BinaryPrimitives.WriteUInt32BigEndian(reply.AsSpan(8), option);
        BinaryPrimitives.WriteUInt32BigEndian(reply.AsSpan(12), type);
        BinaryPrimitives.WriteUInt32BigEndian(reply.AsSpan(16), claimedLength ?? (uint)data.Length);
        data.CopyTo(reply.AsSpan(20));
        return SendAsync(reply);
    }

    /// <summary>
    /// A valid fixed-newstyle negotiation: structured replies, <c>base:allocation</c> under
    /// <see cref="FakeExport.BaseAllocationId"/>, and <c>NBD_OPT_GO</c> answered with NBD_INFO_EXPORT and
    /// NBD_INFO_BLOCK_SIZE. Returns when the transmission phase starts.
    /// </summary>
    public async Task HandshakeAsync(FakeExport export)
    {
        await SendGreetingAsync();
        await ReadClientFlagsAsync();
        while (true)
        {
            var (option, data) = await ReadOptionAsync();
            switch (option)
            {
                case FakeNbdWire.OptStructuredReply when export.StructuredReplies:
                    StructuredReplies = true;
                    await SendOptionReplyAsync(option, FakeNbdWire.RepAck);
                    break;
                case FakeNbdWire.OptSetMetaContext or FakeNbdWire.OptListMetaContext when StructuredReplies:
                    foreach (var query in ParseMetaContextQueries(data))
                    {
                        if (query == NbdMetaContexts.BaseAllocation)
                        {
                            var name = Encoding.UTF8.GetBytes(query);
                            var reply = new byte[4 + name.Length];
                            BinaryPrimitives.WriteUInt32BigEndian(reply, export.BaseAllocationId);
                            name.CopyTo(reply.AsSpan(4));
                            await SendOptionReplyAsync(option, FakeNbdWire.RepMetaContext, reply);
                        }
                    }

                    await SendOptionReplyAsync(option, FakeNbdWire.RepAck);
                    break;
                case FakeNbdWire.OptGo or FakeNbdWire.OptInfo:
                    await SendOptionReplyAsync(option, FakeNbdWire.RepInfo, InfoExport(export.Size, export.Flags));
                    await SendOptionReplyAsync(option, FakeNbdWire.RepInfo,
                        InfoBlockSize(export.MinimumBlockSize, export.PreferredBlockSize, export.MaximumPayloadSize));
                    await SendOptionReplyAsync(option, FakeNbdWire.RepAck);
                    if (option == FakeNbdWire.OptGo)
                    {
                        return;
                    }

                    break;
                case FakeNbdWire.OptAbort:
                    await SendOptionReplyAsync(option, FakeNbdWire.RepAck);
                    throw new InvalidOperationException("The client aborted the negotiation.");
                default:
                    await SendOptionReplyAsync(option, FakeNbdWire.RepErrUnsup);
                    break;
            }
        }
    }

    public static byte[] InfoExport(long size, ushort flags)
    {
        var info = new byte[12];
        BinaryPrimitives.WriteUInt16BigEndian(info, FakeNbdWire.InfoExport);
        BinaryPrimitives.WriteUInt64BigEndian(info.AsSpan(2), (ulong)size);
        BinaryPrimitives.WriteUInt16BigEndian(info.AsSpan(10), flags);
        return info;
    }

    public static byte[] InfoBlockSize(uint minimum, uint preferred, uint maximum)
    {
        var info = new byte[14];
        BinaryPrimitives.WriteUInt16BigEndian(info, FakeNbdWire.InfoBlockSize);
        BinaryPrimitives.WriteUInt32BigEndian(info.AsSpan(2), minimum);
        BinaryPrimitives.WriteUInt32BigEndian(info.AsSpan(6), preferred);
        BinaryPrimitives.WriteUInt32BigEndian(info.AsSpan(10), maximum);
        return info;
    }

    private static List<string> ParseMetaContextQueries(byte[] data)
    {
        var nameLength = (int)BinaryPrimitives.ReadUInt32BigEndian(data);
        var position = 4 + nameLength;
        var count = BinaryPrimitives.ReadUInt32BigEndian(data.AsSpan(position));
        position += 4;
        var queries = new List<string>();
        for (var i = 0; i < count; i++)
        {
            var length = (int)BinaryPrimitives.ReadUInt32BigEndian(data.AsSpan(position));
            queries.Add(Encoding.UTF8.GetString(data, position + 4, length));
            position += 4 + length;
        }

        return queries;
    }

    // Transmission -------------------------------------------------------------------------------

    /// <summary>The next request (a WRITE with its payload), or null when the client closed the connection.</summary>
    public async Task<FakeRequest?> ReadRequestAsync()
    {
        var header = await TryReadExactAsync(28);
        if (header is null)
        {
            return null;
        }

        var magic = BinaryPrimitives.ReadUInt32BigEndian(header);
        if (magic != FakeNbdWire.RequestMagic)
        {
            throw new InvalidDataException($"The client sent a request with magic 0x{magic:x8}.");
        }

        var type = BinaryPrimitives.ReadUInt16BigEndian(header.AsSpan(6));
        var length = BinaryPrimitives.ReadUInt32BigEndian(header.AsSpan(24));
        var payload = type == FakeNbdWire.CmdWrite ? await ReadExactAsync((int)length) : [];
        return new FakeRequest(
            BinaryPrimitives.ReadUInt16BigEndian(header.AsSpan(4)),
            type,
            BinaryPrimitives.ReadUInt64BigEndian(header.AsSpan(8)),
            BinaryPrimitives.ReadUInt64BigEndian(header.AsSpan(16)),
            length,
            payload);
    }

    public async Task<FakeRequest> ExpectRequestAsync(NbdCommand command)
    {
        var request = await ReadRequestAsync() ?? throw new EndOfStreamException($"The client closed the connection instead of sending {command}.");
        return request.Command == command
            ? request
            : throw new InvalidDataException($"Expected a {command} request, got {request.Command}.");
    }

    /// <summary>Reads <paramref name="count"/> requests, in whatever order they arrive.</summary>
    public async Task<List<FakeRequest>> ExpectRequestsAsync(int count)
    {
        var requests = new List<FakeRequest>(count);
        while (requests.Count < count)
        {
            requests.Add(await ReadRequestAsync() ?? throw new EndOfStreamException($"The client closed the connection after {requests.Count} of {count} requests."));
        }

        return requests;
    }

    /// <summary>
    /// Reads (and returns) requests until the client closes the connection. A DISC is answered the way
    /// servers do, by closing this side. A reset counts as a close.
    /// </summary>
    public async Task<List<FakeRequest>> WaitForClientCloseAsync()
    {
        var requests = new List<FakeRequest>();
        try
        {
            while (await ReadRequestAsync() is { } request)
            {
                requests.Add(request);
                if (request.Type == FakeNbdWire.CmdDisconnect)
                {
                    EndOutput();
                }
            }
        }
        catch (IOException)
        {
        }

        return requests;
    }

    /// <summary>Neither reads nor writes until the server is disposed: a peer that has stopped taking data.</summary>
    public async Task StallAsync()
    {
        try
        {
            await Task.Delay(Timeout.Infinite, _stopping);
        }
        catch (OperationCanceledException)
        {
        }
    }

    /// <summary>Reads raw bytes until the client closes the connection (a reset counts as a close); returns how many arrived.</summary>
    public async Task<long> DrainUntilClosedAsync()
    {
        var buffer = new byte[64 * 1024];
        long total = 0;
        try
        {
            int read;
            while ((read = await _stream.ReadAsync(buffer, _stopping)) > 0)
            {
                total += read;
            }
        }
        catch (IOException)
        {
        }

        return total;
    }

    public void Dispose() => _stream.Dispose();
}
