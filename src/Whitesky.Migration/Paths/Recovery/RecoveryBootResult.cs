namespace Whitesky.Migration.Paths.Recovery;

/// <summary>Which recovery medium a VM boots.</summary>
public enum RecoveryMedium
{
    /// <summary>An ISO uploaded by this run.</summary>
    UploadedIso,

    /// <summary>A CD-ROM image that was already in the location.</summary>
    ExistingCdrom,

    /// <summary>The platform's Acronis recovery (<c>acronis</c> flag).</summary>
    Acronis,

    /// <summary>The platform's Veeam recovery (<c>veeam</c> flag).</summary>
    Veeam,
}

/// <summary>What <see cref="RecoveryBootImport.StartAsync"/> did, and what to do next.</summary>
public sealed record RecoveryBootResult
{
    /// <summary>The VM booting the recovery medium.</summary>
    public required long VmId { get; init; }

    /// <summary>The empty boot disk the vendor restores into.</summary>
    public required long BootDiskId { get; init; }

    /// <summary>The boot disk's size in GB.</summary>
    public required long DiskSizeGb { get; init; }

    /// <summary>The medium.</summary>
    public required RecoveryMedium Medium { get; init; }

    /// <summary>The attached CD-ROM image (null for the Acronis/Veeam flags).</summary>
    public long? CdromId { get; init; }

    /// <summary>The ISO upload, when this run uploaded one.</summary>
    public IsoUploadSummary? Upload { get; init; }

    /// <summary>The VM's status when the call returned (RUNNING once started).</summary>
    public string? VmStatus { get; init; }

    /// <summary>What to do in the VM's console, and how to finish, in words.</summary>
    public required string Instructions { get; init; }
}

/// <summary>What the ISO upload did.</summary>
/// <param name="Bytes">The ISO's size.</param>
/// <param name="PartSize">The platform's part size.</param>
/// <param name="Parts">Parts in the upload.</param>
/// <param name="PartsSent">Parts sent by this run.</param>
/// <param name="PartsResumed">Parts an earlier run had sent (from the checkpoint), not sent again.</param>
public sealed record IsoUploadSummary(long Bytes, long PartSize, int Parts, int PartsSent, int PartsResumed);

/// <summary>What <see cref="RecoveryBootImport.FinishAsync"/> did.</summary>
/// <param name="VmId">The VM.</param>
/// <param name="BootDiskId">The disk the VM now boots from.</param>
/// <param name="DetachedCdromIds">The CD-ROM images detached.</param>
/// <param name="Restarted">Whether the VM was stopped and started again to boot from its disk.</param>
/// <param name="VmStatus">The VM's status at the end.</param>
public sealed record RecoveryFinishResult(long VmId, long BootDiskId, IReadOnlyList<long> DetachedCdromIds, bool Restarted, string? VmStatus);
