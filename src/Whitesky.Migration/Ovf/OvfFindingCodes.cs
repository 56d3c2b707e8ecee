namespace Whitesky.Migration.Ovf;

/// <summary>The codes of <see cref="OvfFinding"/>.</summary>
public static class OvfFindingCodes
{
    /// <summary>A file the descriptor names is not in the package.</summary>
    public const string MissingFile = "missing-file";
    /// <summary>A file's length differs from its <c>ovf:size</c>, or chunk parts do not add up.</summary>
    public const string SizeMismatch = "size-mismatch";
    /// <summary>A file's digest differs from the manifest.</summary>
    public const string DigestMismatch = "digest-mismatch";
    /// <summary>The manifest names a file the package does not have.</summary>
    public const string ManifestFileMissing = "manifest-file-missing";
    /// <summary>A file of the package has no manifest line.</summary>
    public const string NotInManifest = "not-in-manifest";
    /// <summary>The package has no manifest: nothing is verified by digest.</summary>
    public const string NoManifest = "no-manifest";
    /// <summary>A disk's format is not one whitesky imports.</summary>
    public const string UnsupportedDiskFormat = "unsupported-disk-format";
    /// <summary>A disk file's content does not match the format the descriptor names.</summary>
    public const string DiskContentMismatch = "disk-content-mismatch";
    /// <summary>A file is gzip-compressed in the package.</summary>
    public const string CompressedFile = "compressed-file";
    /// <summary>A file is split in chunk parts.</summary>
    public const string ChunkedFile = "chunked-file";
    /// <summary>The package holds more than one virtual system.</summary>
    public const string MultipleVirtualSystems = "multiple-virtual-systems";
    /// <summary>The virtual system has no disk.</summary>
    public const string NoDisks = "no-disks";
    /// <summary>A disk has no backing file (an empty disk to create).</summary>
    public const string EmptyDisk = "empty-disk";
    /// <summary>A hard disk item names a disk the DiskSection does not have.</summary>
    public const string UnknownDiskReference = "unknown-disk-reference";
    /// <summary>A disk's capacity is zero.</summary>
    public const string ZeroCapacity = "zero-capacity";
    /// <summary>No processor item: the CPU count has to be given.</summary>
    public const string NoCpu = "no-cpu";
    /// <summary>No memory item: the memory has to be given.</summary>
    public const string NoMemory = "no-memory";
    /// <summary>Memory is not a whole number of MiB and will be rounded up.</summary>
    public const string MemoryRounded = "memory-rounded";
    /// <summary>The descriptor does not name the firmware: BIOS is assumed.</summary>
    public const string FirmwareUnspecified = "firmware-unspecified";
    /// <summary>The guest OS has no exact whitesky name: a "- other" name is used.</summary>
    public const string OsNotMapped = "os-not-mapped";
    /// <summary>A device whitesky cannot give the VM (FC/iSCSI/InfiniBand adapters, ...).</summary>
    public const string UnsupportedDevice = "unsupported-device";
    /// <summary>A CD/DVD or floppy drive holds an image that is not imported.</summary>
    public const string RemovableMediaNotImported = "removable-media-not-imported";
    /// <summary>In an OVA, the descriptor is not the first entry (the OVF standard requires it).</summary>
    public const string DescriptorNotFirst = "descriptor-not-first";
    /// <summary>A section was not understood and ignored.</summary>
    public const string IgnoredSection = "ignored-section";
}
