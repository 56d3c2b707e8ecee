namespace Whitesky.DiskFormats.Vdi;

/// <summary>On-disk constants of VirtualBox's VDI format (header version 1.1). All integers are little-endian.</summary>
internal static class VdiSpec
{
    public const int SignatureOffset = 0x40;
    public const uint Signature = 0xBEDA107F;
    public const int VersionOffset = 0x44;
    public const uint Version1_1 = 0x0001_0001;

    public const int HeaderSizeOffset = 0x48;
    public const int ImageTypeOffset = 0x4C;
    public const int OffsetBlocksOffset = 0x154;
    public const int OffsetDataOffset = 0x158;
    public const int SectorSizeOffset = 0x168;
    public const int DiskSizeOffset = 0x170;
    public const int BlockSizeOffset = 0x178;
    public const int BlockExtraOffset = 0x17C;
    public const int BlocksOffset = 0x180;
    public const int BlocksAllocatedOffset = 0x184;
    public const int UuidLinkageOffset = 0x1A8;

    /// <summary>The v1.1 header from its size field up to and including the parent's UUID (VDIHEADER1).</summary>
    public const int MinHeaderSize = 0x180;

    /// <summary>Where the v1.1 header (as far as a reader needs it) ends in the file.</summary>
    public const int HeaderEnd = HeaderSizeOffset + MinHeaderSize;

    public const uint ImageTypeDynamic = 1;
    public const uint ImageTypeStatic = 2;
    public const uint ImageTypeUndo = 3;
    public const uint ImageTypeDiff = 4;

    /// <summary>Block map entries: the block is not allocated (reads from the parent or zeroes) or reads as zeroes.</summary>
    public const uint BlockFree = 0xFFFF_FFFF;
    public const uint BlockZero = 0xFFFF_FFFE;

    public const int SectorSize = 512;
    public const int MinBlockSize = 512;
    public const int MaxBlockSize = 256 << 20;
}
