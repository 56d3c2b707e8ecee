using System.Buffers.Binary;

namespace Whitesky.Nbd.Protocol;

/// <summary>A transmission request header (28 bytes on the wire).</summary>
internal readonly record struct NbdRequestHeader(NbdCommandFlags Flags, NbdCommand Command, ulong Cookie, ulong Offset, uint Length);

/// <summary>A simple reply header (16 bytes on the wire).</summary>
internal readonly record struct NbdSimpleReplyHeader(uint Error, ulong Cookie);

/// <summary>A structured reply chunk header (20 bytes on the wire).</summary>
internal readonly record struct NbdChunkHeader(ushort Flags, ushort Type, ulong Cookie, uint Length)
{
    public bool IsDone => (Flags & NbdWire.NBD_REPLY_FLAG_DONE) != 0;
}

/// <summary>Encodes and decodes the fixed-size transmission headers; big-endian, no allocation.</summary>
internal static class NbdCodec
{
    public static void WriteRequest(Span<byte> destination, in NbdRequestHeader header)
    {
        BinaryPrimitives.WriteUInt32BigEndian(destination, NbdWire.NBD_REQUEST_MAGIC);
        BinaryPrimitives.WriteUInt16BigEndian(destination[4..], (ushort)header.Flags);
        BinaryPrimitives.WriteUInt16BigEndian(destination[6..], (ushort)header.Command);
        BinaryPrimitives.WriteUInt64BigEndian(destination[8..], header.Cookie);
        BinaryPrimitives.WriteUInt64BigEndian(destination[16..], header.Offset);
        BinaryPrimitives.WriteUInt32BigEndian(destination[24..], header.Length);
    }

    /// <summary>Decodes a request header; false when the magic is wrong.</summary>
    public static bool TryReadRequest(ReadOnlySpan<byte> source, out NbdRequestHeader header)
    {
        if (BinaryPrimitives.ReadUInt32BigEndian(source) != NbdWire.NBD_REQUEST_MAGIC)
        {
            header = default;
            return false;
        }

        header = new NbdRequestHeader(
            (NbdCommandFlags)BinaryPrimitives.ReadUInt16BigEndian(source[4..]),
            (NbdCommand)BinaryPrimitives.ReadUInt16BigEndian(source[6..]),
            BinaryPrimitives.ReadUInt64BigEndian(source[8..]),
            BinaryPrimitives.ReadUInt64BigEndian(source[16..]),
            BinaryPrimitives.ReadUInt32BigEndian(source[24..]));
        return true;
    }

    public static void WriteSimpleReply(Span<byte> destination, in NbdSimpleReplyHeader header)
    {
        BinaryPrimitives.WriteUInt32BigEndian(destination, NbdWire.NBD_SIMPLE_REPLY_MAGIC);
        BinaryPrimitives.WriteUInt32BigEndian(destination[4..], header.Error);
        BinaryPrimitives.WriteUInt64BigEndian(destination[8..], header.Cookie);
    }

    /// <summary>Decodes a simple reply header whose magic was already checked.</summary>
    public static NbdSimpleReplyHeader ReadSimpleReply(ReadOnlySpan<byte> source) => new(
        BinaryPrimitives.ReadUInt32BigEndian(source[4..]),
        BinaryPrimitives.ReadUInt64BigEndian(source[8..]));

    public static void WriteChunk(Span<byte> destination, in NbdChunkHeader header)
    {
        BinaryPrimitives.WriteUInt32BigEndian(destination, NbdWire.NBD_STRUCTURED_REPLY_MAGIC);
        BinaryPrimitives.WriteUInt16BigEndian(destination[4..], header.Flags);
        BinaryPrimitives.WriteUInt16BigEndian(destination[6..], header.Type);
        BinaryPrimitives.WriteUInt64BigEndian(destination[8..], header.Cookie);
        BinaryPrimitives.WriteUInt32BigEndian(destination[16..], header.Length);
    }

    /// <summary>Decodes a structured chunk header whose magic was already checked.</summary>
    public static NbdChunkHeader ReadChunk(ReadOnlySpan<byte> source) => new(
        BinaryPrimitives.ReadUInt16BigEndian(source[4..]),
        BinaryPrimitives.ReadUInt16BigEndian(source[6..]),
        BinaryPrimitives.ReadUInt64BigEndian(source[8..]),
        BinaryPrimitives.ReadUInt32BigEndian(source[16..]));
}
