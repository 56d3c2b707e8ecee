using Whitesky.Api.Models;

namespace Whitesky.Migration.Paths.Recovery;

/// <summary>What <see cref="RecoveryBootImport"/> boots and the VM it makes. Give exactly one of <see cref="IsoPath"/>, <see cref="CdromId"/>, <see cref="Acronis"/>, <see cref="Veeam"/>.</summary>
public sealed record RecoveryBootOptions
{
    /// <summary>A backup vendor's recovery ISO to upload as a CD-ROM image of the location.</summary>
    public string? IsoPath { get; init; }

    /// <summary>A CD-ROM image already in the location (uploaded earlier).</summary>
    public long? CdromId { get; init; }

    /// <summary>Boot the platform's Acronis recovery (the VM's <c>acronis</c> flag) instead of an ISO.</summary>
    public bool Acronis { get; init; }

    /// <summary>Boot the platform's Veeam recovery (the VM's <c>veeam</c> flag) instead of an ISO.</summary>
    public bool Veeam { get; init; }

    /// <summary>The VM's name.</summary>
    public required string VmName { get; init; }

    /// <summary>The VM's description.</summary>
    public string Description { get; init; } = "Recovery boot by the Whitesky SDK";

    /// <summary>The empty boot disk's size in GB (GiB), the size the vendor restores into.</summary>
    public required long DiskSizeGb { get; init; }

    /// <summary>Virtual CPUs.</summary>
    public long VCpus { get; init; } = 2;

    /// <summary>Memory in MiB (recovery environments want a few GB).</summary>
    public long MemoryMiB { get; init; } = 4096;

    /// <summary>The boot type of the restored system (null: the platform's default, BIOS).</summary>
    public BootType? BootType { get; init; }

    /// <summary>The restored system's OS family (null: the platform's default).</summary>
    public OsType? OsType { get; init; }

    /// <summary>The restored system's OS (null: the platform's default).</summary>
    public OsName? OsName { get; init; }

    /// <summary>The uploaded CD-ROM image's name; null uses the ISO's file name.</summary>
    public string? CdromName { get; init; }

    /// <summary>
    /// A file that records the ISO upload (upload id and every acknowledged part with its ETag), saved after each part.
    /// Running again with the same file sends only the parts that are missing; null: no resume.
    /// </summary>
    public string? UploadCheckpointPath { get; init; }

    /// <summary>Parts uploaded at the same time.</summary>
    public int UploadParallelism { get; init; } = 4;

    /// <summary>Start the VM once it is created (on by default).</summary>
    public bool Start { get; init; } = true;

    /// <summary>Keep a VM that was created when a later step (starting it) fails; by default it is deleted with its disk.</summary>
    public bool KeepVmOnFailure { get; init; }

    /// <summary>How long to wait for the VM to run after starting it.</summary>
    public TimeSpan StartTimeout { get; init; } = TimeSpan.FromMinutes(10);

    internal int SourceCount => (IsoPath is null ? 0 : 1) + (CdromId is null ? 0 : 1) + (Acronis ? 1 : 0) + (Veeam ? 1 : 0);

    internal void Validate()
    {
        if (SourceCount != 1)
        {
            throw new ArgumentException("Give exactly one recovery medium: IsoPath, CdromId, Acronis or Veeam.", nameof(IsoPath));
        }

        ArgumentException.ThrowIfNullOrEmpty(VmName, nameof(VmName));
        ArgumentOutOfRangeException.ThrowIfLessThan(DiskSizeGb, 1, nameof(DiskSizeGb));
        ArgumentOutOfRangeException.ThrowIfGreaterThan(DiskSizeGb, 65536, nameof(DiskSizeGb));
        ArgumentOutOfRangeException.ThrowIfLessThan(VCpus, 1, nameof(VCpus));
        ArgumentOutOfRangeException.ThrowIfLessThan(MemoryMiB, 128, nameof(MemoryMiB));
        ArgumentOutOfRangeException.ThrowIfLessThan(UploadParallelism, 1, nameof(UploadParallelism));
        ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(StartTimeout, TimeSpan.Zero, nameof(StartTimeout));
    }
}
