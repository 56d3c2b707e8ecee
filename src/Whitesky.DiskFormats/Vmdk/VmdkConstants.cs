namespace Whitesky.DiskFormats.Vmdk;

/// <summary>On-disk constants of VMware's Virtual Disk Format (hosted sparse extents, streamOptimized markers, descriptors).</summary>
internal static class VmdkConstants
{
    public const int SectorSize = 512;

    /// <summary>"KDMV" read as a little-endian u32.</summary>
    public const uint SparseMagic = 0x564D444B;

    /// <summary>"COWD": the old ESX vmfsSparse extent, which this reader does not decode.</summary>
    public const uint CowdMagic = 0x44574F43;

    public const int HeaderSize = 512;

    public const uint FlagValidNewlineTest = 1u << 0;
    public const uint FlagRedundantGrainTable = 1u << 1;
    public const uint FlagZeroedGrainEntries = 1u << 2;
    public const uint FlagCompressedGrains = 1u << 16;
    public const uint FlagMarkers = 1u << 17;

    public const ushort CompressionNone = 0;
    public const ushort CompressionDeflate = 1;

    /// <summary>gdOffset value meaning "the real header is in the footer" (streamOptimized written by VMware).</summary>
    public const ulong GrainDirectoryAtEnd = ulong.MaxValue;

    /// <summary>A grain table entry: grain not allocated here (parent or zeroes).</summary>
    public const uint GrainUnallocated = 0;

    /// <summary>A grain table entry that means a zero grain when <see cref="FlagZeroedGrainEntries"/> is set.</summary>
    public const uint GrainZero = 1;

    /// <summary>Compressed grain header: u64 LBA, u32 compressed size.</summary>
    public const int GrainMarkerHeaderSize = 12;

    public const uint MarkerEndOfStream = 0;
    public const uint MarkerGrainTable = 1;
    public const uint MarkerGrainDirectory = 2;
    public const uint MarkerFooter = 3;

    /// <summary>parentCID of a disk without parent.</summary>
    public const uint NoParentCid = 0xFFFFFFFF;

    // Limits that keep hostile images from making us allocate or loop without bound.
    public const int MaxDescriptorBytes = 1 << 20;
    public const int MaxExtents = 4096;
    public const long MaxGrainSectors = 1 << 16;
    public const uint MaxGrainTableEntries = 4096;
    public const int GrainTableCacheCapacity = 512;

    /// <summary>2^25 grain tables: 1 PiB at the default 64 KiB grains and 512-entry tables (VMware's limit is 62 TB).</summary>
    public const long MaxGrainDirectoryEntries = 1L << 25;
}
