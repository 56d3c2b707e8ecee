namespace Whitesky.DiskFormats.Vhdx;

/// <summary>On-disk constants of the VHDX format ([MS-VHDX] v1.0). All integers are little-endian; GUIDs are in Windows' mixed-endian layout.</summary>
internal static class VhdxSpec
{
    public const long KiB = 1024;
    public const long MiB = 1024 * 1024;

    // 2.1 File Type Identifier, 2.2 Headers, 2.2.2 Region Table
    public const ulong FileSignature = 0x656C_6966_7864_6876; // "vhdxfile"
    public const long FileIdentifierOffset = 0;
    public const long Header1Offset = 64 * KiB;
    public const long Header2Offset = 128 * KiB;
    public const int HeaderSize = 4096;
    public const uint HeaderSignature = 0x6461_6568; // "head"
    public const ushort HeaderVersion = 1;
    public const ushort LogVersion = 0;
    public const long RegionTable1Offset = 192 * KiB;
    public const long RegionTable2Offset = 256 * KiB;
    public const int RegionTableSize = 64 * 1024;
    public const uint RegionSignature = 0x6967_6572; // "regi"
    public const int MaxRegionEntries = 2047;
    public const int RegionEntrySize = 32;
    public const uint RegionRequired = 1;

    /// <summary>The first byte after the fixed structures (identifier, headers, region tables, reserved).</summary>
    public const long HeaderSectionEnd = 1 * MiB;

    public static readonly Guid BatRegion = new("2DC27766-F623-4200-9D64-115E9BFD4A08");
    public static readonly Guid MetadataRegion = new("8B7CA206-4790-4B9A-B8FE-575F050F886E");

    // 2.6 Metadata Region
    public const ulong MetadataSignature = 0x6174_6164_6174_656D; // "metadata"
    public const int MetadataTableSize = 64 * 1024;
    public const int MaxMetadataEntries = 2047;
    public const int MetadataEntrySize = 32;
    public const uint MetadataIsUser = 1;
    public const uint MetadataIsVirtualDisk = 2;
    public const uint MetadataIsRequired = 4;

    /// <summary>No known item is larger; a parent locator is at most 64 KiB by the spec's own limit on key/value offsets (2 bytes of length each).</summary>
    public const int MaxMetadataItemSize = 1 << 20;

    public static readonly Guid FileParameters = new("CAA16737-FA36-4D43-B3B6-33F0AA44E76B");
    public static readonly Guid VirtualDiskSize = new("2FA54224-CD1B-4876-B211-5DBED83BF4B8");
    public static readonly Guid Page83Data = new("BECA12AB-B2E6-4523-93EF-C309E000C746");
    public static readonly Guid LogicalSectorSize = new("8141BF1D-A96F-4709-BA47-F233A8FAAB5F");
    public static readonly Guid PhysicalSectorSize = new("CDA348C7-445D-4471-9CC9-E9885251C556");
    public static readonly Guid ParentLocator = new("A8D35F2D-B30B-454D-ABF7-D3D84834AB0C");
    public static readonly Guid VhdxParentLocatorType = new("B04AEFB7-D19E-4A81-B789-25B8E9445913");

    public const uint FileParametersLeaveBlockAllocated = 1;
    public const uint FileParametersHasParent = 2;
    public const long MinBlockSize = 1 * MiB;
    public const long MaxBlockSize = 256 * MiB;

    /// <summary>64 TiB, the largest virtual disk the spec allows.</summary>
    public const long MaxVirtualDiskSize = 64L << 40;

    // 2.5 BAT
    public const int BatStateMask = 7;
    public const int BatFileOffsetShift = 20;
    public const int PayloadBlockNotPresent = 0;
    public const int PayloadBlockUndefined = 1;
    public const int PayloadBlockZero = 2;
    public const int PayloadBlockUnmapped = 3;
    public const int PayloadBlockUnmappedV095 = 5;
    public const int PayloadBlockFullyPresent = 6;
    public const int PayloadBlockPartiallyPresent = 7;
    public const int SectorBitmapBlockNotPresent = 0;
    public const int SectorBitmapBlockPresent = 6;
    public const long SectorBitmapBlockSize = 1 * MiB;

    /// <summary>Sectors described by one sector bitmap block: 2^23 (one bit each).</summary>
    public const long SectorsPerBitmapBlock = 1L << 23;

    // 2.3 Log
    public const uint LogEntrySignature = 0x6567_6F6C; // "loge"
    public const uint ZeroDescriptorSignature = 0x6F72_657A; // "zero"
    public const uint DataDescriptorSignature = 0x6373_6564; // "desc"
    public const uint DataSectorSignature = 0x6174_6164; // "data"
    public const int LogSectorSize = 4096;
    public const int LogEntryHeaderSize = 64;
    public const int LogDescriptorSize = 32;
    public const int DataSectorPayload = 4084;

    /// <summary>The largest log replayed in memory; Hyper-V and qemu make 1 MiB logs.</summary>
    public const long MaxLogLength = 64 * MiB;

    /// <summary>The most 4 KiB pages a replayed log may change (zero descriptors included): 4 GiB of file.</summary>
    public const long MaxOverlayPages = 1 << 20;

    // 2.6.2.6 Parent Locator keys
    public const string ParentLinkageKey = "parent_linkage";
    public const string ParentLinkage2Key = "parent_linkage2";
    public const string RelativePathKey = "relative_path";
    public const string VolumePathKey = "volume_path";
    public const string AbsoluteWin32PathKey = "absolute_win32_path";
    public const int MaxParentLocatorEntries = 256;
}
