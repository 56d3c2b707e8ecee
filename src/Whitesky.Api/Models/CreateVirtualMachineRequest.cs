using System.Text;
using Refit;

namespace Whitesky.Api.Models;

/// <summary>The query parameters of <c>createVirtualMachine</c>.</summary>
/// <remarks><see cref="TpmSecret"/> and <see cref="UserData"/> may hold secrets: <see cref="ToString"/> leaves them out.</remarks>
public sealed record CreateVirtualMachineRequest
{
    /// <summary>VM name.</summary>
    [AliasAs("name")]
    public required string Name { get; init; }

    /// <summary>VM description.</summary>
    [AliasAs("description")]
    public required string Description { get; init; }

    /// <summary>Number of virtual CPUs.</summary>
    [AliasAs("vcpus")]
    public required long VCpus { get; init; }

    /// <summary>Memory in MiB.</summary>
    [AliasAs("memory")]
    public required long Memory { get; init; }

    /// <summary>Host name.</summary>
    [AliasAs("hostname")]
    public string? Hostname { get; init; }

    /// <summary>Sizes of extra data disks (sent comma-separated).</summary>
    [AliasAs("data_disks")]
    [Query(CollectionFormat.Csv)]
    public IReadOnlyList<long>? DataDisks { get; init; }

    /// <summary>Private IP address.</summary>
    [AliasAs("private_ip")]
    public string? PrivateIp { get; init; }

    /// <summary>cloud-init user data (YAML).</summary>
    [AliasAs("user_data")]
    public string? UserData { get; init; }

    /// <summary>Start the VM right after creation (the platform's default is true).</summary>
    [AliasAs("start_vm")]
    public bool? StartVm { get; init; }

    /// <summary>TPM secret.</summary>
    [AliasAs("tpm_secret")]
    public string? TpmSecret { get; init; }

    /// <summary>Image to create the boot disk from.</summary>
    [AliasAs("image_id")]
    public long? ImageId { get; init; }

    /// <summary>Boot disk size in GiB.</summary>
    [AliasAs("disk_size")]
    public long? DiskSize { get; init; }

    /// <summary>CD-ROM image to attach.</summary>
    [AliasAs("cdrom_id")]
    public long? CdromId { get; init; }

    /// <summary>An existing disk to boot from.</summary>
    [AliasAs("boot_disk_id")]
    public long? BootDiskId { get; init; }

    /// <summary>OS family.</summary>
    [AliasAs("os_type")]
    public OsType? OsType { get; init; }

    /// <summary>OS name.</summary>
    [AliasAs("os_name")]
    public OsName? OsName { get; init; }

    /// <summary>Enable the VM agent (the platform's default is true).</summary>
    [AliasAs("enable_vm_agent")]
    public bool? EnableVmAgent { get; init; }

    /// <summary>Boot disk snapshot to create from.</summary>
    [AliasAs("snapshot_id")]
    public string? SnapshotId { get; init; }

    /// <summary>Clone every disk of the snapshot.</summary>
    [AliasAs("all_vm_disks")]
    public bool? AllVmDisks { get; init; }

    /// <summary>Create the VM from an Acronis backup.</summary>
    [AliasAs("acronis")]
    public bool? Acronis { get; init; }

    /// <summary>Create the VM from a Veeam backup.</summary>
    [AliasAs("veeam")]
    public bool? Veeam { get; init; }

    /// <summary>Boot type (the platform's default is <see cref="BootType.Bios"/>).</summary>
    [AliasAs("boot_type")]
    public BootType? BootType { get; init; }

    private bool PrintMembers(StringBuilder builder)
    {
        builder.Append("Name = ").Append(Name)
            .Append(", Description = ").Append(Description)
            .Append(", VCpus = ").Append(VCpus)
            .Append(", Memory = ").Append(Memory)
            .Append(", Hostname = ").Append(Hostname)
            .Append(", DataDisks = ").Append(DataDisks is null ? null : string.Join(',', DataDisks))
            .Append(", PrivateIp = ").Append(PrivateIp)
            .Append(", UserData = ").Append(UserData is null ? null : Redaction.Mask)
            .Append(", StartVm = ").Append(StartVm)
            .Append(", TpmSecret = ").Append(TpmSecret is null ? null : Redaction.Mask)
            .Append(", ImageId = ").Append(ImageId)
            .Append(", DiskSize = ").Append(DiskSize)
            .Append(", CdromId = ").Append(CdromId)
            .Append(", BootDiskId = ").Append(BootDiskId)
            .Append(", OsType = ").Append(OsType)
            .Append(", OsName = ").Append(OsName)
            .Append(", EnableVmAgent = ").Append(EnableVmAgent)
            .Append(", SnapshotId = ").Append(SnapshotId)
            .Append(", AllVmDisks = ").Append(AllVmDisks)
            .Append(", Acronis = ").Append(Acronis)
            .Append(", Veeam = ").Append(Veeam)
            .Append(", BootType = ").Append(BootType);
        return true;
    }
}
