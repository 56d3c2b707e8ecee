using System.Text.Json;
using System.Text.Json.Serialization;

namespace Whitesky.Migrate.Replicate;

/// <summary>The JSON plan of <c>whitesky-migrate cutover PLAN.json</c> (snake_case; see docs/nearly-online.md).</summary>
internal sealed record CutoverPlanFile
{
    public required string Application { get; init; }

    public required IReadOnlyList<CutoverVmFile> Vms { get; init; }

    public long? MaxDeltaBytes { get; init; }

    public double? MaxReplicationAgeSeconds { get; init; } = 1800;

    public IReadOnlyList<string> DnsNames { get; init; } = [];

    public double MaxDnsTtlSeconds { get; init; } = 300;

    /// <summary>host:port of the name server asked for TTLs; null for the system's.</summary>
    public string? DnsServer { get; init; }

    /// <summary>whitesky DNS records switched after validation (and back on rollback).</summary>
    public IReadOnlyList<DnsRecordFile> DnsRecords { get; init; } = [];

    public double ValidationTimeoutSeconds { get; init; } = 300;

    public double ProbeIntervalSeconds { get; init; } = 2;

    public bool Rollback { get; init; } = true;

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
    public string? Restart { get; init; }

    public required TargetVmFile Target { get; init; }

    public IReadOnlyList<ProbeFile> Probes { get; init; } = [];
}

internal sealed record ReplicatedDiskFile
{
    /// <summary>The source as for <c>replicate</c> (an NBD URI for bitmap:NAME).</summary>
    public required string Source { get; init; }

    /// <summary>bitmap:NAME, hash or snapshots.</summary>
    public required string ChangeSource { get; init; }

    public IReadOnlyList<string> Layers { get; init; } = [];

    /// <summary>The replication state file written by <c>replicate --state</c>.</summary>
    public required string State { get; init; }

    /// <summary>The whitesky disk <c>replicate</c> filled (printed as WHITESKY_DISK_ID).</summary>
    public required long DiskId { get; init; }
}

internal sealed record TargetVmFile
{
    public string? Name { get; init; }

    public long Vcpus { get; init; } = 1;

    public long MemoryMib { get; init; } = 1024;

    /// <summary>bios, uefi or uefi-secure-boot.</summary>
    public string? BootType { get; init; }

    /// <summary>An existing VM to start instead of creating one.</summary>
    public long? VmId { get; init; }
}

internal sealed record ProbeFile
{
    /// <summary>host:port that must accept a TCP connection.</summary>
    public string? Tcp { get; init; }

    /// <summary>A URL that must answer (with <see cref="Status"/> and <see cref="Contains"/> when given).</summary>
    public string? Http { get; init; }

    public int? Status { get; init; }

    public string? Contains { get; init; }

    /// <summary>A shell command that must exit 0.</summary>
    public string? Command { get; init; }
}

internal sealed record DnsRecordFile(string Domain, string Type, string Value);

[JsonSerializable(typeof(CutoverPlanFile))]
[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.SnakeCaseLower, ReadCommentHandling = JsonCommentHandling.Skip,
    AllowTrailingCommas = true, UnmappedMemberHandling = JsonUnmappedMemberHandling.Disallow)]
internal sealed partial class CutoverPlanJsonContext : JsonSerializerContext;
