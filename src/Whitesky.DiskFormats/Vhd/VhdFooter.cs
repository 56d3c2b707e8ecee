using System.Buffers.Binary;
using System.Globalization;

namespace Whitesky.DiskFormats.Vhd;

/// <summary>The fields of a VHD footer that a reader needs, checked.</summary>
internal sealed record VhdFooter
{
    public required uint DiskType { get; init; }
    public required long DataOffset { get; init; }
    public required long CurrentSize { get; init; }
    public required string CreatorApplication { get; init; }
    public required Guid UniqueId { get; init; }

    /// <summary>Where the footer lies in the file, and its length (512, or 511 for old Virtual PC images).</summary>
    public required long Offset { get; init; }
    public required int Length { get; init; }

    public static bool HasCookie(ReadOnlySpan<byte> bytes) => bytes.Length >= 8 && bytes[..8].SequenceEqual(VhdSpec.FooterCookie);

    /// <summary>Parses a footer of <paramref name="bytes"/>.Length (511 or 512) bytes found at <paramref name="offset"/>.</summary>
    public static VhdFooter Parse(string image, ReadOnlySpan<byte> bytes, long offset)
    {
        if (!HasCookie(bytes) || bytes.Length < VhdSpec.OldFooterLength)
        {
            throw new DiskFormatException(image, "footer", offset, "not a VHD footer (no 'conectix' cookie)");
        }

        var stored = BinaryPrimitives.ReadUInt32BigEndian(bytes[VhdSpec.FooterChecksum..]);
        var computed = VhdSpec.Checksum(bytes, VhdSpec.FooterChecksum);
        if (stored != computed)
        {
            throw new DiskFormatException(image, "footer", offset + VhdSpec.FooterChecksum, Inv($"checksum 0x{stored:x8} does not match the footer's content (0x{computed:x8}); the footer is corrupt"));
        }

        var type = BinaryPrimitives.ReadUInt32BigEndian(bytes[VhdSpec.FooterDiskType..]);
        if (type is not (VhdSpec.DiskTypeFixed or VhdSpec.DiskTypeDynamic or VhdSpec.DiskTypeDifferencing))
        {
            throw new DiskFormatException(image, "footer", offset + VhdSpec.FooterDiskType, Inv($"disk type {type} is not fixed (2), dynamic (3) or differencing (4)"));
        }

        var size = BinaryPrimitives.ReadUInt64BigEndian(bytes[VhdSpec.FooterCurrentSize..]);
        if (size > long.MaxValue / 2)
        {
            throw new DiskFormatException(image, "footer", offset + VhdSpec.FooterCurrentSize, Inv($"current size {size} is not plausible"));
        }

        var dataOffset = BinaryPrimitives.ReadUInt64BigEndian(bytes[VhdSpec.FooterDataOffset..]);
        var creator = bytes.Slice(VhdSpec.FooterCreatorApplication, 4);
        return new VhdFooter
        {
            DiskType = type,
            DataOffset = dataOffset > long.MaxValue ? -1 : (long)dataOffset,
            CurrentSize = (long)size,
            CreatorApplication = new string(creator.ToArray().Select(b => b is >= 0x20 and < 0x7f ? (char)b : ' ').ToArray()).TrimEnd(),
            UniqueId = new Guid(bytes.Slice(VhdSpec.FooterUniqueId, 16), bigEndian: true),
            Offset = offset,
            Length = bytes.Length,
        };
    }

    private static string Inv(FormattableString text) => text.ToString(CultureInfo.InvariantCulture);
}
