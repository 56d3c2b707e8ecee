using System.Text.Json;
using System.Text.Json.Serialization;

namespace Whitesky.Migrate.Replicate;

/// <summary>
/// The JSON plan of <c>whitesky-migrate cutover PLAN.json</c> (snake_case; see docs/nearly-online.md). Optional members have
/// setters, not init: the JSON source generator sets missing init-only members to default, losing their initializers.
/// </summary>
internal sealed record CutoverPlanFile
{
    public required string Application { get; init; }

    public required IReadOnlyList<CutoverVmFile> Vms { get; init; }

    public long? MaxDeltaBytes { get; set; }

    public double? MaxReplicationAgeSeconds { get; set; } = 1800;

    public IReadOnlyList<string> DnsNames { get; set; } = [];

    public double MaxDnsTtlSeconds { get; set; } = 300;

    /// <summary>host:port of the name server asked for TTLs; null for the system's.</summary>
    public string? DnsServer { get; set; }

    /// <summary>whitesky DNS records switched after validation (and back on rollback).</summary>
    public IReadOnlyList<DnsRecordFile> DnsRecords { get; set; } = [];

    public double ValidationTimeoutSeconds { get; set; } = 300;

    public double ProbeIntervalSeconds { get; set; } = 2;

    public bool Rollback { get; set; } = true;

    public static async Task<CutoverPlanFile> LoadAsync(string path, CancellationToken cancellationToken)
    {
        await using var stream = File.OpenRead(path);
        try
        {
            return await JsonSerializer.DeserializeAsync(stream, CutoverPlanJsonContext.Default.CutoverPlanFile, cancellationToken)
                ?? throw new Cli.CommandFailedException($"The cutover plan {path} is empty.");
        }
        catch (JsonException ex)
        {
            throw new Cli.CommandFailedException($"The cutover plan {path} is not valid: {ex.Message}");
        }
    }
}

internal sealed record CutoverVmFile
{
    public required string Name { get; init; }

    /// <summary>The disks, boot disk first.</summary>
    public required IReadOnlyList<ReplicatedDiskFile> Disks { get; init; }

    /// <summary>Shell command that quiesces and stops the source VM.</summary>
    public required string Stop { get; init; }

    /// <summary>Shell command that starts the source VM again on rollback.</summary>
    public string? Restart { get; set; }

    public required TargetVmFile Target { get; init; }

    public IReadOnlyList<ProbeFile> Probes { get; set; } = [];
}

internal sealed record ReplicatedDiskFile
{
    /// <summary>The source as for <c>replicate</c> (an NBD URI for bitmap:NAME).</summary>
    public required string Source { get; init; }

    /// <summary>bitmap:NAME, hash or snapshots.</summary>
    public required string ChangeSource { get; init; }

    public IReadOnlyList<string> Layers { get; set; } = [];

    /// <summary>The replication state file written by <c>replicate --state</c>.</summary>
    public required string State { get; init; }

    /// <summary>The whitesky disk <c>replicate</c> filled (printed as WHITESKY_DISK_ID).</summary>
    public required long DiskId { get; init; }
}

internal sealed record TargetVmFile
{
    public string? Name { get; set; }

    public long Vcpus { get; set; } = 1;

    public long MemoryMib { get; set; } = 1024;

    /// <summary>bios, uefi or uefi-secure-boot.</summary>
    public string? BootType { get; set; }

    /// <summary>An existing VM to start instead of creating one.</summary>
    public long? VmId { get; set; }
}

internal sealed record ProbeFile
{
    /// <summary>host:port that must accept a TCP connection.</summary>
    public string? Tcp { get; set; }

    /// <summary>A URL that must answer (with <see cref="Status"/> and <see cref="Contains"/> when given).</summary>
    public string? Http { get; set; }

    public int? Status { get; set; }

    public string? Contains { get; set; }

    /// <summary>A shell command that must exit 0.</summary>
    public string? Command { get; set; }
}

internal sealed record DnsRecordFile(string Domain, string Type, string Value);

[JsonSerializable(typeof(CutoverPlanFile))]
[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.SnakeCaseLower, ReadCommentHandling = JsonCommentHandling.Skip,
    AllowTrailingCommas = true, UnmappedMemberHandling = JsonUnmappedMemberHandling.Disallow)]
internal sealed partial class CutoverPlanJsonContext : JsonSerializerContext;
