namespace Whitesky.DiskFormats.Qcow2;

/// <summary>On-disk constants of the qcow2 format (qemu docs/interop/qcow2.txt). All integers are big-endian.</summary>
internal static class Qcow2Spec
{
    public const uint Magic = 0x514649fb; // "QFI\xfb"
    public const int HeaderV2Length = 72;
    public const int HeaderV3MinLength = 104;

    public const int MinClusterBits = 9;
    public const int MaxClusterBits = 21;

    public const ulong IncompatibleDirty = 1UL << 0;
    public const ulong IncompatibleCorrupt = 1UL << 1;
    public const ulong IncompatibleDataFile = 1UL << 2;
    public const ulong IncompatibleCompressionType = 1UL << 3;
    public const ulong IncompatibleExtendedL2 = 1UL << 4;
    public const ulong IncompatibleKnown = IncompatibleDirty | IncompatibleCorrupt | IncompatibleDataFile | IncompatibleCompressionType | IncompatibleExtendedL2;

    public const ulong AutoclearDataFileRaw = 1UL << 1;

    public const byte CompressionZlib = 0;
    public const byte CompressionZstd = 1;

    public const uint ExtensionEnd = 0;
    public const uint ExtensionBackingFormat = 0xe2792aca;
    public const uint ExtensionFeatureTable = 0x6803f857;
    public const uint ExtensionDataFile = 0x44415441;

    public const int MaxBackingNameLength = 1023;

    /// <summary>qemu's own limit on the L1 table (QCOW_MAX_L1_SIZE).</summary>
    public const long MaxL1Bytes = 32L << 20;

    public const ulong L1OffsetMask = 0x00ff_ffff_ffff_fe00UL;
    public const ulong L2OffsetMask = 0x00ff_ffff_ffff_fe00UL;
    public const ulong L2Compressed = 1UL << 62;
    public const ulong L2Copied = 1UL << 63;
    public const ulong L2Zero = 1UL;

    public const int SubclustersPerCluster = 32;
    public const int SectorSize = 512;
}
