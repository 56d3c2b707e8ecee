using System.Buffers.Binary;
using System.Text;

namespace Whitesky.Nbd.Tests.Hostile;

/// <summary>
/// Builds transmission replies byte by byte, valid or not: every length field can be given explicitly
/// so a test can make it lie.
/// </summary>
public static class FakeReplies
{
    public static byte[] Simple(ulong cookie, uint error = 0, ReadOnlySpan<byte> data = default)
    {
        var reply = new byte[16 + data.Length];
        BinaryPrimitives.WriteUInt32BigEndian(reply, FakeNbdWire.SimpleReplyMagic);
        BinaryPrimitives.WriteUInt32BigEndian(reply.AsSpan(4), error);
        BinaryPrimitives.WriteUInt64BigEndian(reply.AsSpan(8), cookie);
        data.CopyTo(reply.AsSpan(16));
        return reply;
    }

    /// <summary>A structured chunk header claiming <paramref name="length"/> payload bytes, followed by <paramref name="payload"/> (which may be shorter or longer).</summary>
    public static byte[] ChunkWithLength(ulong cookie, ushort type, bool done, uint length, ReadOnlySpan<byte> payload = default)
    {
        var chunk = new byte[20 + payload.Length];
        BinaryPrimitives.WriteUInt32BigEndian(chunk, FakeNbdWire.StructuredReplyMagic);
        BinaryPrimitives.WriteUInt16BigEndian(chunk.AsSpan(4), done ? FakeNbdWire.ReplyFlagDone : (ushort)0);
        BinaryPrimitives.WriteUInt16BigEndian(chunk.AsSpan(6), type);
        BinaryPrimitives.WriteUInt64BigEndian(chunk.AsSpan(8), cookie);
        BinaryPrimitives.WriteUInt32BigEndian(chunk.AsSpan(16), length);
        payload.CopyTo(chunk.AsSpan(20));
        return chunk;
    }

    public static byte[] Chunk(ulong cookie, ushort type, bool done, ReadOnlySpan<byte> payload) =>
        ChunkWithLength(cookie, type, done, (uint)payload.Length, payload);

    public static byte[] None(ulong cookie) => Chunk(cookie, FakeNbdWire.ReplyTypeNone, done: true, default);

    public static byte[] OffsetData(ulong cookie, ulong offset, ReadOnlySpan<byte> data, bool done)
    {
        var payload = new byte[8 + data.Length];
        BinaryPrimitives.WriteUInt64BigEndian(payload, offset);
        data.CopyTo(payload.AsSpan(8));
        return Chunk(cookie, FakeNbdWire.ReplyTypeOffsetData, done, payload);
    }

    public static byte[] OffsetHole(ulong cookie, ulong offset, uint length, bool done)
    {
        var payload = new byte[12];
        BinaryPrimitives.WriteUInt64BigEndian(payload, offset);
        BinaryPrimitives.WriteUInt32BigEndian(payload.AsSpan(8), length);
        return Chunk(cookie, FakeNbdWire.ReplyTypeOffsetHole, done, payload);
    }

    public static byte[] BlockStatus(ulong cookie, uint contextId, bool done, params (uint Length, uint Flags)[] descriptors)
    {
        var payload = new byte[4 + (8 * descriptors.Length)];
        BinaryPrimitives.WriteUInt32BigEndian(payload, contextId);
        for (var i = 0; i < descriptors.Length; i++)
        {
            BinaryPrimitives.WriteUInt32BigEndian(payload.AsSpan(4 + (8 * i)), descriptors[i].Length);
            BinaryPrimitives.WriteUInt32BigEndian(payload.AsSpan(8 + (8 * i)), descriptors[i].Flags);
        }

        return Chunk(cookie, FakeNbdWire.ReplyTypeBlockStatus, done, payload);
    }

    /// <summary>An NBD_REPLY_TYPE_ERROR chunk; <paramref name="claimedMessageLength"/> overrides the message length field.</summary>
    public static byte[] Error(ulong cookie, uint error, string message, bool done, ushort? claimedMessageLength = null)
    {
        var text = Encoding.UTF8.GetBytes(message);
        var payload = new byte[6 + text.Length];
        BinaryPrimitives.WriteUInt32BigEndian(payload, error);
        BinaryPrimitives.WriteUInt16BigEndian(payload.AsSpan(4), claimedMessageLength ?? (ushort)text.Length);
        text.CopyTo(payload.AsSpan(6));
        return Chunk(cookie, FakeNbdWire.ReplyTypeError, done, payload);
    }

    public static byte[] ErrorOffset(ulong cookie, uint error, ulong offset, bool done)
    {
        var payload = new byte[14];
        BinaryPrimitives.WriteUInt32BigEndian(payload, error);
        BinaryPrimitives.WriteUInt16BigEndian(payload.AsSpan(4), 0);
        BinaryPrimitives.WriteUInt64BigEndian(payload.AsSpan(6), offset);
        return Chunk(cookie, FakeNbdWire.ReplyTypeErrorOffset, done, payload);
    }

    public static byte[] Concat(params byte[][] parts) => [.. parts.SelectMany(p => p)];
}
