using System.Buffers.Binary;
using System.Numerics;

namespace Whitesky.DiskFormats.Vhdx;

/// <summary>CRC-32C (Castagnoli) as VHDX uses it: over a structure whose checksum field reads as zero.</summary>
internal static class VhdxChecksum
{
    /// <summary>The CRC-32C of <paramref name="data"/>, the four bytes at <paramref name="checksumOffset"/> taken as zero.</summary>
    public static uint Compute(ReadOnlySpan<byte> data, int checksumOffset)
    {
        var crc = Append(uint.MaxValue, data[..checksumOffset]);
        crc = BitOperations.Crc32C(crc, 0u);
        crc = Append(crc, data[(checksumOffset + 4)..]);
        return ~crc;
    }

    /// <summary>Whether the stored checksum at <paramref name="checksumOffset"/> matches the data.</summary>
    public static bool IsValid(ReadOnlySpan<byte> data, int checksumOffset) =>
        BinaryPrimitives.ReadUInt32LittleEndian(data[checksumOffset..]) == Compute(data, checksumOffset);

    private static uint Append(uint crc, ReadOnlySpan<byte> data)
    {
        while (data.Length >= 8)
        {
            crc = BitOperations.Crc32C(crc, BinaryPrimitives.ReadUInt64LittleEndian(data));
            data = data[8..];
        }

        foreach (var b in data)
        {
            crc = BitOperations.Crc32C(crc, b);
        }

        return crc;
    }
}
