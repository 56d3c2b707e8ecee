using Whitesky.Emulator.Exposure;
using Whitesky.Emulator.Faults;

namespace Whitesky.Emulator.State;

/// <summary>Disk statuses the emulator reports.</summary>
internal static class DiskStatus
{
    public const string Created = "CREATED";
    public const string Assigned = "ASSIGNED";
    public const string Deleted = "DELETED";
}

/// <summary>VM statuses: CREATED → RUNNING ⇄ STOPPED, any → DELETED; an import passes through IMPORTING to RUNNING or ERROR.</summary>
internal static class VmStatus
{
    public const string Created = "CREATED";
    public const string Running = "RUNNING";
    public const string Stopped = "STOPPED";
    public const string Deleted = "DELETED";
    public const string Importing = "IMPORTING";
    public const string Error = "ERROR";
}

/// <summary>A status shown instead of the real one until a moment passes (<see cref="Faults.EmulatorFaults.StateTransitionDelay"/>).</summary>
internal sealed record Transition(string Status, DateTimeOffset Until);

internal sealed class DiskRecord
{
    public Transition? Transition { get; set; }

    public bool IsTransitioning(DateTimeOffset now) => Transition is { } t && now < t.Until;

    public string ReportedStatus(DateTimeOffset now) => IsTransitioning(now) ? Transition!.Status : Status;

    public required int Id { get; init; }
    public required string Name { get; init; }
    public required string Description { get; init; }
    public required int SizeGb { get; set; }
    public required int Iops { get; init; }
    public required string DiskType { get; init; }
    public required string Path { get; init; }
    public string? RaidLevel { get; init; }
    public double? BackupSizeLimit { get; init; }
    public int? VmId { get; set; }
    public DateTimeOffset? DeletionTime { get; set; }
    public DiskExposure? Exposure { get; set; }

    public string Status => DeletionTime is not null ? DiskStatus.Deleted : VmId is not null ? DiskStatus.Assigned : DiskStatus.Created;
}

internal sealed class VmRecord
{
    public Transition? Transition { get; set; }

    public string ReportedStatus(DateTimeOffset now) => Transition is { } t && now < t.Until ? t.Status : Status;

    public required int Id { get; init; }
    public required string Name { get; init; }
    public required string Description { get; init; }
    public required string Hostname { get; init; }
    public required int Vcpus { get; init; }
    public required int Memory { get; init; }
    public required string Status { get; set; }
    public required string BootType { get; set; }
    public string? OsType { get; init; }
    public string? OsName { get; init; }
    public int? ImageId { get; init; }
    public int? BootDiskId { get; set; }
    public List<int> DiskIds { get; } = [];
    public List<int> CdromIds { get; } = [];
    public bool Acronis { get; init; }
    public bool Veeam { get; init; }
    public bool EnableVmAgent { get; init; }
    public string? PrivateIp { get; init; }
    public string? UserData { get; init; }
    public bool TpmEnabled { get; init; }
    public required DateTimeOffset CreationTime { get; init; }
    public DateTimeOffset UpdateTime { get; set; }
    public DateTimeOffset? DeletionTime { get; set; }

    /// <summary>Why an import-vm-s3 ended in ERROR (the platform tells by mail or callback; the emulator shows it under /_emulator/vms).</summary>
    public string? ImportError { get; set; }

    /// <summary>Cancels the running import when the VM is deleted.</summary>
    public CancellationTokenSource? Import { get; set; }
}

internal sealed class CdromRecord
{
    public required int Id { get; init; }
    public required string Name { get; init; }
    public required string OsType { get; init; }
    public required string OsName { get; init; }
    public required string Path { get; init; }
    public required long Size { get; init; }
    public DateTimeOffset? DeletionTime { get; set; }

    public string Status => DeletionTime is null ? "CREATED" : "DELETED";
}

internal sealed class UploadRecord
{
    public required string UploadId { get; init; }
    public required string ObjectName { get; init; }
    public required string FileName { get; init; }
    public required string Folder { get; init; }
    public Dictionary<int, string> PartEtags { get; } = [];
}

internal sealed record DnsRecord(string Domain, string Type, string Value, int Priority, int Weight, string Service, string Protocol, int Port, string Tag, string Flag, string CaaDomain);
