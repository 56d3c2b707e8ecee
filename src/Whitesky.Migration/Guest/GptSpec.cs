using System.Buffers.Binary;

namespace Whitesky.Migration.Guest;

/// <summary>GPT and MBR layout constants (UEFI specification, chapter 5) and the header codec.</summary>
internal static class GptSpec
{
    public const ulong Signature = 0x5452415020494645; // "EFI PART", little endian
    public const int MinHeaderSize = 92;
    public const int MbrSignatureOffset = 510;
    public const int MbrPartitionTableOffset = 446;
    public const int MbrEntrySize = 16;
    public const int MbrEntries = 4;
    public const byte MbrTypeProtective = 0xEE;
    public const byte MbrTypeEfiSystem = 0xEF;
    public const int MaxEntryArrayBytes = 1 << 20;
    public const int MinEntrySize = 128;

    public static readonly Guid EfiSystemPartition = new("c12a7328-f81f-11d2-ba4b-00a0c93ec93b");
    public static readonly Guid BiosBootPartition = new("21686148-6449-6e6f-744e-656564454649");

    // Header field offsets.
    public const int HeaderSizeOffset = 12;
    public const int HeaderCrcOffset = 16;
    public const int MyLbaOffset = 24;
    public const int AlternateLbaOffset = 32;
    public const int FirstUsableLbaOffset = 40;
    public const int LastUsableLbaOffset = 48;
    public const int EntryLbaOffset = 72;
    public const int EntryCountOffset = 80;
    public const int EntrySizeOffset = 84;
    public const int EntryArrayCrcOffset = 88;

    public static bool HasSignature(ReadOnlySpan<byte> sector) =>
        sector.Length >= MinHeaderSize && BinaryPrimitives.ReadUInt64LittleEndian(sector) == Signature;

    public static uint Crc32(ReadOnlySpan<byte> data) => System.IO.Hashing.Crc32.HashToUInt32(data);

    /// <summary>The header's CRC with its CRC field taken as zero.</summary>
    public static uint HeaderCrc(ReadOnlySpan<byte> header, int headerSize)
    {
        Span<byte> copy = stackalloc byte[512];
        header[..headerSize].CopyTo(copy);
        BinaryPrimitives.WriteUInt32LittleEndian(copy[HeaderCrcOffset..], 0);
        return Crc32(copy[..headerSize]);
    }

    public static void SealHeader(Span<byte> header)
    {
        var size = BinaryPrimitives.ReadInt32LittleEndian(header[HeaderSizeOffset..]);
        BinaryPrimitives.WriteUInt32LittleEndian(header[HeaderCrcOffset..], HeaderCrc(header, size));
    }
}
