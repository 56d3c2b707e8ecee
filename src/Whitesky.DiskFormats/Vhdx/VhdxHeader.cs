using System.Buffers.Binary;
using System.Globalization;

namespace Whitesky.DiskFormats.Vhdx;

/// <summary>One of the two 4 KiB VHDX headers (MS-VHDX 2.2.2); the current one is the valid one with the higher sequence number.</summary>
internal sealed record VhdxHeader(long Offset, ulong SequenceNumber, Guid FileWriteGuid, Guid DataWriteGuid, Guid LogGuid, ushort LogVersion, uint LogLength, long LogOffset)
{
    public static bool HasFileSignature(ReadOnlySpan<byte> head) =>
        head.Length >= 8 && BinaryPrimitives.ReadUInt64LittleEndian(head) == VhdxSpec.FileSignature;

    /// <summary>Reads the file identifier and both headers and returns the current header.</summary>
    public static async Task<VhdxHeader> ReadCurrentAsync(IRandomAccessSource source, CancellationToken cancellationToken)
    {
        var name = source.Name;
        var id = new byte[8];
        var got = await source.ReadAsync(VhdxSpec.FileIdentifierOffset, id, cancellationToken).ConfigureAwait(false);
        if (!HasFileSignature(id.AsSpan(0, got)))
        {
            throw new DiskFormatException(name, "file type identifier", 0, "the signature is not 'vhdxfile'");
        }

        if (source.Length < VhdxSpec.HeaderSectionEnd)
        {
            throw new DiskFormatException(name, "header section", 0, Inv($"the file of {source.Length} bytes is shorter than the 1 MiB header section"));
        }

        var first = await TryReadAsync(source, VhdxSpec.Header1Offset, cancellationToken).ConfigureAwait(false);
        var second = await TryReadAsync(source, VhdxSpec.Header2Offset, cancellationToken).ConfigureAwait(false);
        return (first.Header, second.Header) switch
        {
            (null, null) => throw new DiskFormatException(name, "headers", VhdxSpec.Header1Offset,
                $"neither header is valid (first: {first.Problem}; second: {second.Problem})"),
            ({ } a, null) => a,
            (null, { } b) => b,
            ({ } a, { } b) => b.SequenceNumber > a.SequenceNumber ? b : a,
        };
    }

    private static async Task<(VhdxHeader? Header, string Problem)> TryReadAsync(IRandomAccessSource source, long offset, CancellationToken cancellationToken)
    {
        var raw = new byte[VhdxSpec.HeaderSize];
        var got = await source.ReadAsync(offset, raw, cancellationToken).ConfigureAwait(false);
        if (got < raw.Length)
        {
            return (null, "the file ends inside it");
        }

        var span = raw.AsSpan();
        if (BinaryPrimitives.ReadUInt32LittleEndian(span) != VhdxSpec.HeaderSignature)
        {
            return (null, "the signature is not 'head'");
        }

        if (!VhdxChecksum.IsValid(span, 4))
        {
            return (null, Inv($"checksum mismatch (stored 0x{BinaryPrimitives.ReadUInt32LittleEndian(span[4..]):x8}, computed 0x{VhdxChecksum.Compute(span, 4):x8})"));
        }

        var version = BinaryPrimitives.ReadUInt16LittleEndian(span[66..]);
        if (version != VhdxSpec.HeaderVersion)
        {
            return (null, Inv($"version {version} is not 1"));
        }

        return (new VhdxHeader(
            offset,
            BinaryPrimitives.ReadUInt64LittleEndian(span[8..]),
            new Guid(span.Slice(16, 16)),
            new Guid(span.Slice(32, 16)),
            new Guid(span.Slice(48, 16)),
            BinaryPrimitives.ReadUInt16LittleEndian(span[64..]),
            BinaryPrimitives.ReadUInt32LittleEndian(span[68..]),
            (long)Math.Min(BinaryPrimitives.ReadUInt64LittleEndian(span[72..]), long.MaxValue)), "");
    }

    private static string Inv(FormattableString text) => text.ToString(CultureInfo.InvariantCulture);
}
