using Whitesky.Api.Models;
using Whitesky.Migration.Guest;
using Whitesky.Migration.Transfer;

namespace Whitesky.Migration.Paths.Streaming;

/// <summary>What <see cref="StreamingDiskImport"/> imports and where it puts the result.</summary>
public sealed record StreamingImportOptions
{
    /// <summary>The images to import, one whitesky disk each; for a VM, the first is its boot disk. At least one.</summary>
    public required IReadOnlyList<StreamingImportSource> Disks { get; init; }

    /// <summary>Attach the imported disks to this existing VM (as data disks). Not together with <see cref="NewVm"/>.</summary>
    public long? VmId { get; init; }

    /// <summary>Create a VM booting from the first disk, with the others as data disks. Not together with <see cref="VmId"/>.</summary>
    public StreamingImportVm? NewVm { get; init; }

    /// <summary>
    /// How the guest boots, when the caller knows better than the partition table; null detects it from the first
    /// image (an EFI system partition means UEFI, an MBR or BIOS boot partition means BIOS).
    /// </summary>
    public GuestBootMode? BootMode { get; init; }

    /// <summary>
    /// Move a GPT's backup header to the end of the whitesky disk when the disk is larger than the image (whole GB),
    /// so that firmware does not find a broken table. On by default.
    /// </summary>
    public bool RelocateGptBackup { get; init; } = true;

    /// <summary>Keep the disks this import created when it fails or is cancelled (to resume into them); by default they are deleted.</summary>
    public bool KeepDisksOnFailure { get; init; }

    /// <summary>
    /// A folder for each image's transfer checkpoint and the id of the disk it goes into. Running the same import again
    /// with the same folder (after a failure with <see cref="KeepDisksOnFailure"/>) continues into the same disks and
    /// sends only what is missing. Null: no checkpoints.
    /// </summary>
    public string? CheckpointDirectory { get; init; }

    /// <summary>NBD connections per disk (asked as the exposure's <c>max_connections</c>; used when the export allows multi-conn).</summary>
    public int MaxConnections { get; init; } = 4;

    /// <summary>Disks imported at the same time.</summary>
    public int MaxParallelDisks { get; init; } = 4;

    /// <summary>The transfer engine's settings; null for the engine defaults the import was made with.</summary>
    public DiskTransferOptions? Transfer { get; init; }

    /// <summary>How long to wait for a new disk to become usable.</summary>
    public TimeSpan DiskReadyTimeout { get; init; } = TimeSpan.FromMinutes(5);

    internal void Validate()
    {
        ArgumentNullException.ThrowIfNull(Disks, nameof(Disks));
        if (Disks.Count == 0)
        {
            throw new ArgumentException("At least one image is needed.", nameof(Disks));
        }

        foreach (var disk in Disks)
        {
            ArgumentNullException.ThrowIfNull(disk, nameof(Disks));
            ArgumentException.ThrowIfNullOrEmpty(disk.ImagePath, nameof(StreamingImportSource.ImagePath));
        }

        if (VmId is not null && NewVm is not null)
        {
            throw new ArgumentException("Give either VmId (attach to an existing VM) or NewVm (create one), not both.", nameof(NewVm));
        }

        NewVm?.Validate();
        ArgumentOutOfRangeException.ThrowIfLessThan(MaxConnections, 1, nameof(MaxConnections));
        ArgumentOutOfRangeException.ThrowIfGreaterThan(MaxConnections, 64, nameof(MaxConnections));
        ArgumentOutOfRangeException.ThrowIfLessThan(MaxParallelDisks, 1, nameof(MaxParallelDisks));
        ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(DiskReadyTimeout, TimeSpan.Zero, nameof(DiskReadyTimeout));
    }
}

/// <summary>One image to import.</summary>
public sealed record StreamingImportSource
{
    /// <summary>The image file (raw, qcow2, vmdk, vhd, vhdx, vdi; parents in its folder).</summary>
    public required string ImagePath { get; init; }

    /// <summary>The image's format when known (it is then not probed); null probes the content.</summary>
    public string? Format { get; init; }

    /// <summary>The whitesky disk's name; null uses the image's file name.</summary>
    public string? DiskName { get; init; }

    /// <summary>
    /// Continue into this existing disk instead of creating one (with the checkpoint from
    /// <see cref="StreamingImportOptions.CheckpointDirectory"/>, only what is missing is sent). The import never
    /// deletes a disk it did not create.
    /// </summary>
    public long? ExistingDiskId { get; init; }
}

/// <summary>The VM <see cref="StreamingDiskImport"/> creates around the imported disks.</summary>
public sealed record StreamingImportVm
{
    /// <summary>The VM's name.</summary>
    public required string Name { get; init; }

    /// <summary>The VM's description.</summary>
    public string Description { get; init; } = "Imported by the Whitesky SDK (streaming import)";

    /// <summary>Virtual CPUs.</summary>
    public long VCpus { get; init; } = 2;

    /// <summary>Memory in MiB.</summary>
    public long MemoryMiB { get; init; } = 2048;

    /// <summary>The boot type; null takes it from <see cref="StreamingImportOptions.BootMode"/> or the first image's partition table (BIOS when nothing tells).</summary>
    public BootType? BootType { get; init; }

    /// <summary>The OS family (null: the platform's default).</summary>
    public OsType? OsType { get; init; }

    /// <summary>The OS (null: the platform's default).</summary>
    public OsName? OsName { get; init; }

    /// <summary>Start the VM once it is created.</summary>
    public bool Start { get; init; }

    internal void Validate()
    {
        ArgumentException.ThrowIfNullOrEmpty(Name, nameof(Name));
        ArgumentOutOfRangeException.ThrowIfLessThan(VCpus, 1, nameof(VCpus));
        ArgumentOutOfRangeException.ThrowIfLessThan(MemoryMiB, 128, nameof(MemoryMiB));
    }
}
