namespace Whitesky.Migration.Guest;

/// <summary>How a guest disk is partitioned.</summary>
public enum PartitionScheme
{
    /// <summary>No partition table was found (a whole-disk file system, LVM PV, or an empty disk).</summary>
    None,

    /// <summary>A DOS/MBR partition table.</summary>
    Mbr,

    /// <summary>A GUID partition table (behind its protective MBR).</summary>
    Gpt,
}

/// <summary>How the guest on a disk boots, as far as its partition table tells.</summary>
public enum GuestBootMode
{
    /// <summary>Nothing tells (no partition table, or no bootable partition).</summary>
    Unknown,

    /// <summary>Legacy BIOS: an MBR with a boot signature, or a GPT with a BIOS boot partition and no EFI system partition.</summary>
    Bios,

    /// <summary>UEFI: an EFI system partition (GPT type C12A7328-… or MBR type 0xEF).</summary>
    Uefi,
}

/// <summary>One partition of a guest disk.</summary>
/// <param name="Number">1-based slot in the table.</param>
/// <param name="Offset">Start in bytes.</param>
/// <param name="Length">Length in bytes.</param>
/// <param name="Type">GPT type GUID (<c>c12a7328-…</c>) or MBR type byte (<c>0x83</c>).</param>
/// <param name="Name">The GPT partition name, if any.</param>
/// <param name="IsEfiSystem">Whether it is an EFI system partition.</param>
/// <param name="IsActive">MBR: the active (boot) flag; GPT: the legacy BIOS bootable attribute.</param>
public sealed record GuestPartition(int Number, long Offset, long Length, string Type, string? Name, bool IsEfiSystem, bool IsActive);

/// <summary>The partition layout of a guest disk and what it says about booting.</summary>
public sealed record GuestDiskLayout
{
    /// <summary>The partition scheme found.</summary>
    public required PartitionScheme Scheme { get; init; }

    /// <summary>The partitions, in table order.</summary>
    public required IReadOnlyList<GuestPartition> Partitions { get; init; }

    /// <summary>The boot mode the layout implies.</summary>
    public required GuestBootMode BootMode { get; init; }

    /// <summary>The sector size the partition table was found with (512 or 4096).</summary>
    public int SectorSize { get; init; } = 512;

    /// <summary>GPT only: where the backup header is, in bytes (from the primary header's alternate LBA).</summary>
    public long? GptBackupHeaderOffset { get; init; }

    /// <summary>GPT only: whether the backup header is in the last sector of the disk, where firmware looks for it.</summary>
    public bool GptBackupAtEnd { get; init; }

    /// <summary>Problems noticed while reading the table (a bad CRC, an entry beyond the disk), in words.</summary>
    public IReadOnlyList<string> Warnings { get; init; } = [];
}
