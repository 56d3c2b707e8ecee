using System.Text.Json.Serialization;

namespace Whitesky.Migrate.Paths;

/// <summary><c>import disk --json</c>: what was imported.</summary>
internal sealed record ImportDiskReport(long? VmId, bool VmCreated, string? BootType, double Seconds, IReadOnlyList<ImportedDiskReport> Disks);

/// <summary>One imported disk.</summary>
internal sealed record ImportedDiskReport(
    string Image, string Format, long ImageBytes, long DiskId, long DiskSizeGb, bool Resumed, string PartitionScheme, string BootMode,
    long BytesWritten, long BytesSkipped, long BytesZeroed, long BytesResumed, double Seconds, bool GptBackupMoved);

/// <summary><c>recovery-boot --json</c>.</summary>
internal sealed record RecoveryBootReport(long VmId, long BootDiskId, long DiskSizeGb, string Medium, long? CdromId, long? UploadedBytes,
    int? PartsSent, int? PartsResumed, string? VmStatus, string Instructions);

/// <summary><c>recovery-boot finish --json</c>.</summary>
internal sealed record RecoveryFinishReport(long VmId, long BootDiskId, IReadOnlyList<long> DetachedCdromIds, bool Restarted, string? VmStatus);

[JsonSerializable(typeof(ImportDiskReport))]
[JsonSerializable(typeof(RecoveryBootReport))]
[JsonSerializable(typeof(RecoveryFinishReport))]
[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.SnakeCaseLower, WriteIndented = true)]
internal sealed partial class PathsJsonContext : JsonSerializerContext;
