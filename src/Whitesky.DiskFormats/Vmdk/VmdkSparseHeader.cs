using System.Buffers.Binary;

namespace Whitesky.DiskFormats.Vmdk;

/// <summary>The 512-byte header of a hosted sparse extent (<c>KDMV</c>), little-endian.</summary>
internal sealed record VmdkSparseHeader
{
    public required uint Version { get; init; }
    public required uint Flags { get; init; }
    public required ulong CapacitySectors { get; init; }
    public required ulong GrainSectors { get; init; }
    public required ulong DescriptorOffset { get; init; }
    public required ulong DescriptorSectors { get; init; }
    public required uint GrainTableEntries { get; init; }
    public required ulong RedundantGrainDirectoryOffset { get; init; }
    public required ulong GrainDirectoryOffset { get; init; }
    public required ulong OverheadSectors { get; init; }
    public required ushort CompressAlgorithm { get; init; }

    public bool ZeroedGrainEntries => (Flags & VmdkConstants.FlagZeroedGrainEntries) != 0;
    /// <summary>Grains are compressed: the flag, or (as qemu reads it) the algorithm alone.</summary>
    public bool Compressed => (Flags & VmdkConstants.FlagCompressedGrains) != 0 || CompressAlgorithm == VmdkConstants.CompressionDeflate;
    public bool Markers => (Flags & VmdkConstants.FlagMarkers) != 0;

    public static bool HasMagic(ReadOnlySpan<byte> head) =>
        head.Length >= 4 && BinaryPrimitives.ReadUInt32LittleEndian(head) == VmdkConstants.SparseMagic;

    /// <summary>Parses and checks a header at <paramref name="offset"/> of <paramref name="image"/>.</summary>
    public static VmdkSparseHeader Parse(ReadOnlySpan<byte> h, string image, long offset)
    {
        if (h.Length < VmdkConstants.HeaderSize || !HasMagic(h))
        {
            throw new DiskFormatException(image, "sparse extent header", offset, "no KDMV magic (the file is not a hosted sparse extent)");
        }

        var header = new VmdkSparseHeader
        {
            Version = BinaryPrimitives.ReadUInt32LittleEndian(h[4..]),
            Flags = BinaryPrimitives.ReadUInt32LittleEndian(h[8..]),
            CapacitySectors = BinaryPrimitives.ReadUInt64LittleEndian(h[12..]),
            GrainSectors = BinaryPrimitives.ReadUInt64LittleEndian(h[20..]),
            DescriptorOffset = BinaryPrimitives.ReadUInt64LittleEndian(h[28..]),
            DescriptorSectors = BinaryPrimitives.ReadUInt64LittleEndian(h[36..]),
            GrainTableEntries = BinaryPrimitives.ReadUInt32LittleEndian(h[44..]),
            RedundantGrainDirectoryOffset = BinaryPrimitives.ReadUInt64LittleEndian(h[48..]),
            GrainDirectoryOffset = BinaryPrimitives.ReadUInt64LittleEndian(h[56..]),
            OverheadSectors = BinaryPrimitives.ReadUInt64LittleEndian(h[64..]),
            CompressAlgorithm = BinaryPrimitives.ReadUInt16LittleEndian(h[77..]),
        };

        if (header.Version is 0 or > 3)
        {
            throw new DiskFormatException(image, "sparse extent header", offset + 4, $"version {header.Version} is not supported (1 to 3 are)");
        }

        // Bytes 73..76 hold "\n", " ", "\r", "\n"; a file sent through a text-mode transfer has them rewritten.
        if ((header.Flags & VmdkConstants.FlagValidNewlineTest) != 0 &&
            (h[73] != '\n' || h[74] != ' ' || h[75] != '\r' || h[76] != '\n'))
        {
            throw new DiskFormatException(image, "sparse extent header", offset + 73, "the newline test characters are damaged (was the file transferred in text mode?)");
        }

        if (header.GrainSectors == 0 || header.GrainSectors > VmdkConstants.MaxGrainSectors || (header.GrainSectors & (header.GrainSectors - 1)) != 0)
        {
            throw new DiskFormatException(image, "sparse extent header", offset + 20, $"grain size of {header.GrainSectors} sectors is not a power of two up to {VmdkConstants.MaxGrainSectors}");
        }

        if (header.GrainTableEntries == 0 || header.GrainTableEntries > VmdkConstants.MaxGrainTableEntries)
        {
            throw new DiskFormatException(image, "sparse extent header", offset + 44, $"{header.GrainTableEntries} entries per grain table is outside 1..{VmdkConstants.MaxGrainTableEntries}");
        }

        if (header.CapacitySectors > long.MaxValue / VmdkConstants.SectorSize)
        {
            throw new DiskFormatException(image, "sparse extent header", offset + 12, $"capacity of {header.CapacitySectors} sectors is too large");
        }

        if ((header.Flags & VmdkConstants.FlagCompressedGrains) != 0 && header.CompressAlgorithm != VmdkConstants.CompressionDeflate)
        {
            throw new DiskFormatException(image, "sparse extent header", offset + 77, $"compression algorithm {header.CompressAlgorithm} is not supported (only deflate, 1)");
        }

        return header;
    }
}
