using System.Buffers.Binary;
using System.Text;

namespace Whitesky.Nbd.Tests.Tls;

/// <summary>
/// Just enough of the NBD fixed-newstyle handshake and transmission phase, written out by hand, to drive
/// nbdkit around the TLS transport under test (independent of the NBD client being written next door).
/// </summary>
internal static class RawNbd
{
    public const ulong NbdMagic = 0x4e42444d41474943;       // "NBDMAGIC"
    public const ulong IHaveOpt = 0x49484156454F5054;       // "IHAVEOPT"
    public const ulong OptionReplyMagic = 0x0003e889045565a9;
    public const uint OptList = 3;
    public const uint OptStartTls = 5;
    public const uint OptGo = 7;
    public const uint RepAck = 1;
    public const uint RepServer = 2;
    public const uint RepInfo = 3;
    public const uint RequestMagic = 0x25609513;
    public const uint SimpleReplyMagic = 0x67446698;
    public const ushort CmdRead = 0;
    public const ushort CmdWrite = 1;
    public const ushort CmdDisconnect = 2;

    /// <summary>Reads the greeting, sends the client flags and NBD_OPT_STARTTLS, and checks for NBD_REP_ACK.</summary>
    public static async Task StartTlsAsync(Stream plain, CancellationToken cancellationToken = default)
    {
        var greeting = new byte[18];
        await plain.ReadExactlyAsync(greeting, cancellationToken);
        Assert.Equal(NbdMagic, BinaryPrimitives.ReadUInt64BigEndian(greeting));
        Assert.Equal(IHaveOpt, BinaryPrimitives.ReadUInt64BigEndian(greeting.AsSpan(8)));
        var serverFlags = BinaryPrimitives.ReadUInt16BigEndian(greeting.AsSpan(16));
        Assert.Equal(3, serverFlags & 3); // FIXED_NEWSTYLE | NO_ZEROES

        var clientFlags = new byte[4];
        BinaryPrimitives.WriteUInt32BigEndian(clientFlags, 3);
        await plain.WriteAsync(clientFlags, cancellationToken);
        await SendOptionAsync(plain, OptStartTls, [], cancellationToken);

        var (option, type, payload) = await ReadOptionReplyAsync(plain, cancellationToken);
        Assert.Equal(OptStartTls, option);
        Assert.Equal(RepAck, type);
        Assert.Empty(payload);
    }

    public static async Task SendOptionAsync(Stream stream, uint option, byte[] data, CancellationToken cancellationToken = default)
    {
        var message = new byte[16 + data.Length];
        BinaryPrimitives.WriteUInt64BigEndian(message, IHaveOpt);
        BinaryPrimitives.WriteUInt32BigEndian(message.AsSpan(8), option);
        BinaryPrimitives.WriteUInt32BigEndian(message.AsSpan(12), (uint)data.Length);
        data.CopyTo(message, 16);
        await stream.WriteAsync(message, cancellationToken);
    }

    public static async Task<(uint Option, uint Type, byte[] Payload)> ReadOptionReplyAsync(Stream stream, CancellationToken cancellationToken = default)
    {
        var header = new byte[20];
        await stream.ReadExactlyAsync(header, cancellationToken);
        Assert.Equal(OptionReplyMagic, BinaryPrimitives.ReadUInt64BigEndian(header));
        var length = BinaryPrimitives.ReadUInt32BigEndian(header.AsSpan(16));
        Assert.InRange(length, 0u, 65536u);
        var payload = new byte[length];
        await stream.ReadExactlyAsync(payload, cancellationToken);
        return (BinaryPrimitives.ReadUInt32BigEndian(header.AsSpan(8)), BinaryPrimitives.ReadUInt32BigEndian(header.AsSpan(12)), payload);
    }

    /// <summary>NBD_OPT_LIST: the export names the server announces.</summary>
    public static async Task<List<string>> ListExportsAsync(Stream stream, CancellationToken cancellationToken = default)
    {
        await SendOptionAsync(stream, OptList, [], cancellationToken);
        var names = new List<string>();
        while (true)
        {
            var (option, type, payload) = await ReadOptionReplyAsync(stream, cancellationToken);
            Assert.Equal(OptList, option);
            if (type == RepAck)
            {
                return names;
            }

            Assert.Equal(RepServer, type);
            var nameLength = (int)BinaryPrimitives.ReadUInt32BigEndian(payload);
            names.Add(Encoding.UTF8.GetString(payload, 4, nameLength));
        }
    }

    /// <summary>NBD_OPT_GO for <paramref name="exportName"/>: returns the export size and transmission flags.</summary>
    public static async Task<(ulong Size, ushort Flags)> GoAsync(Stream stream, string exportName, CancellationToken cancellationToken = default)
    {
        var name = Encoding.UTF8.GetBytes(exportName);
        var data = new byte[4 + name.Length + 2];
        BinaryPrimitives.WriteUInt32BigEndian(data, (uint)name.Length);
        name.CopyTo(data, 4);
        await SendOptionAsync(stream, OptGo, data, cancellationToken);

        ulong? size = null;
        ushort flags = 0;
        while (true)
        {
            var (option, type, payload) = await ReadOptionReplyAsync(stream, cancellationToken);
            Assert.Equal(OptGo, option);
            Assert.True(type < 0x80000000, $"NBD_OPT_GO failed with reply type 0x{type:X8}: {Encoding.UTF8.GetString(payload)}");
            if (type == RepAck)
            {
                Assert.True(size.HasValue, "NBD_OPT_GO ended without NBD_INFO_EXPORT.");
                return (size.Value, flags);
            }

            if (type == RepInfo && BinaryPrimitives.ReadUInt16BigEndian(payload) == 0)
            {
                size = BinaryPrimitives.ReadUInt64BigEndian(payload.AsSpan(2));
                flags = BinaryPrimitives.ReadUInt16BigEndian(payload.AsSpan(10));
            }
        }
    }

    /// <summary>An NBD request header (and, for WRITE, the payload after it).</summary>
    public static async Task SendRequestAsync(Stream stream, ushort command, ulong cookie, ulong offset, uint length,
        ReadOnlyMemory<byte> payload = default, CancellationToken cancellationToken = default)
    {
        var header = new byte[28];
        BinaryPrimitives.WriteUInt32BigEndian(header, RequestMagic);
        BinaryPrimitives.WriteUInt16BigEndian(header.AsSpan(6), command);
        BinaryPrimitives.WriteUInt64BigEndian(header.AsSpan(8), cookie);
        BinaryPrimitives.WriteUInt64BigEndian(header.AsSpan(16), offset);
        BinaryPrimitives.WriteUInt32BigEndian(header.AsSpan(24), length);
        await stream.WriteAsync(header, cancellationToken);
        if (!payload.IsEmpty)
        {
            await stream.WriteAsync(payload, cancellationToken);
        }
    }

    /// <summary>Reads a simple reply and checks its cookie and that it reports success.</summary>
    public static async Task ReadSimpleReplyAsync(Stream stream, ulong cookie, CancellationToken cancellationToken = default)
    {
        var reply = new byte[16];
        await stream.ReadExactlyAsync(reply, cancellationToken);
        Assert.Equal(SimpleReplyMagic, BinaryPrimitives.ReadUInt32BigEndian(reply));
        Assert.Equal(0u, BinaryPrimitives.ReadUInt32BigEndian(reply.AsSpan(4)));
        Assert.Equal(cookie, BinaryPrimitives.ReadUInt64BigEndian(reply.AsSpan(8)));
    }

    public static async Task WriteAsync(Stream stream, ulong cookie, ulong offset, ReadOnlyMemory<byte> data, CancellationToken cancellationToken = default)
    {
        await SendRequestAsync(stream, CmdWrite, cookie, offset, (uint)data.Length, data, cancellationToken);
        await ReadSimpleReplyAsync(stream, cookie, cancellationToken);
    }

    public static async Task<byte[]> ReadAsync(Stream stream, ulong cookie, ulong offset, int length, CancellationToken cancellationToken = default)
    {
        await SendRequestAsync(stream, CmdRead, cookie, offset, (uint)length, cancellationToken: cancellationToken);
        await ReadSimpleReplyAsync(stream, cookie, cancellationToken);
        var data = new byte[length];
        await stream.ReadExactlyAsync(data, cancellationToken);
        return data;
    }

    public static Task DisconnectAsync(Stream stream, CancellationToken cancellationToken = default) =>
        SendRequestAsync(stream, CmdDisconnect, 0, 0, 0, cancellationToken: cancellationToken);
}
