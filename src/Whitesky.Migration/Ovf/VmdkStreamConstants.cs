namespace Whitesky.Migration.Ovf;

/// <summary>
/// On-disk constants of VMware's Virtual Disk Format 1.1 for the streamOptimized variant the OVA builder
/// writes: a hosted sparse header, deflate (zlib) grains behind grain markers, GT/GD/footer/EOS markers.
/// </summary>
internal static class VmdkStreamConstants
{
    public const int SectorSize = 512;

    /// <summary>"KDMV" read as a little-endian u32.</summary>
    public const uint SparseMagic = 0x564D444B;
    public const uint SparseVersion = 3;

    public const uint FlagValidNewlineTest = 1u << 0;
    public const uint FlagCompressedGrains = 1u << 16;
    public const uint FlagMarkers = 1u << 17;
    public const ushort CompressionDeflate = 1;

    /// <summary>gdOffset in the leading header of a stream: "read the footer".</summary>
    public const ulong GrainDirectoryAtEnd = ulong.MaxValue;

    /// <summary>64 KiB grains and 512-entry grain tables (32 MiB per table), as VMware writes them.</summary>
    public const int GrainSectors = 128;
    public const int GrainBytes = GrainSectors * SectorSize;
    public const int GrainTableEntries = 512;
    public const int GrainTableSectors = GrainTableEntries * 4 / SectorSize;

    /// <summary>Sectors reserved for the embedded descriptor (10 KiB).</summary>
    public const int DescriptorSectors = 20;

    /// <summary>The first grain starts at a grain boundary after header and descriptor.</summary>
    public const int OverheadSectors = GrainSectors;

    public const int GrainMarkerHeaderSize = 12;
    public const uint MarkerEndOfStream = 0;
    public const uint MarkerGrainTable = 1;
    public const uint MarkerGrainDirectory = 2;
    public const uint MarkerFooter = 3;

    public const uint NoParentCid = 0xFFFFFFFF;
}
