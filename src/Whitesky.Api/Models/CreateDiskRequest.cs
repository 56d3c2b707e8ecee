using Refit;

namespace Whitesky.Api.Models;

/// <summary>The query parameters of <c>createDisk</c>.</summary>
public sealed record CreateDiskRequest
{
    /// <summary>Name of the disk.</summary>
    [AliasAs("disk_name")]
    public required string DiskName { get; init; }

    /// <summary>Description of the disk.</summary>
    [AliasAs("description")]
    public required string Description { get; init; }

    /// <summary>Size in GB (whole numbers).</summary>
    [AliasAs("disk_size")]
    public required long DiskSize { get; init; }

    /// <summary>Disk IOPS (the platform's default is 2000).</summary>
    [AliasAs("iops")]
    public long? Iops { get; init; }

    /// <summary>The disk's role (the platform's default is <see cref="DiskType.Data"/>).</summary>
    [AliasAs("disk_type")]
    public DiskType? DiskType { get; init; }

    /// <summary>A VM to attach the new disk to.</summary>
    [AliasAs("vm_id")]
    public string? VmId { get; init; }

    /// <summary>RAID level: <c>no raid</c>, <c>raid1</c> or <c>raid5</c>.</summary>
    [AliasAs("raid_level")]
    public string? RaidLevel { get; init; }

    /// <summary>Backup size limit of a physical disk: 0.1, 0.25, 0.5 or 1.</summary>
    [AliasAs("backup_size_limit")]
    public double? BackupSizeLimit { get; init; }
}
