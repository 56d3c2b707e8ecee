using System.Net;

namespace Whitesky.Migration.Cutover;

/// <summary>The target side of one VM: what starts it in whitesky and what stops it again on rollback.</summary>
public interface ICutoverTarget
{
    /// <summary>Creates (if needed) and starts the target VM on its replicated disks.</summary>
    Task StartAsync(CancellationToken cancellationToken);

    /// <summary>Stops the target VM (rollback).</summary>
    Task StopAsync(CancellationToken cancellationToken);
}

/// <summary>Points users at the targets (whitesky DNS records, or the integrator's DNS), and back on rollback.</summary>
public interface IDnsSwitch
{
    /// <summary>Switches the records to the targets.</summary>
    Task SwitchAsync(CancellationToken cancellationToken);

    /// <summary>Switches them back to the sources.</summary>
    Task RevertAsync(CancellationToken cancellationToken);
}

/// <summary>One VM of an application being cut over.</summary>
public sealed record CutoverVm
{
    /// <summary>The VM's name in the report.</summary>
    public required string Name { get; init; }

    /// <summary>Quiesces and stops the source VM (the source platform's business: the integrator's hook).</summary>
    public required Func<CancellationToken, Task> StopSource { get; init; }

    /// <summary>Starts the source VM again on rollback; null when it cannot be restarted automatically.</summary>
    public Func<CancellationToken, Task>? RestartSource { get; init; }

    /// <summary>The final sync after the source stopped (typically <c>ReplicationSession.FinalSyncAsync</c>); answers the bytes sent.</summary>
    public required Func<CancellationToken, Task<long>> FinalSync { get; init; }

    /// <summary>The target in whitesky.</summary>
    public required ICutoverTarget Target { get; init; }

    /// <summary>Probes that must pass before the VM counts as validated.</summary>
    public IReadOnlyList<IHealthProbe> Probes { get; init; } = [];

    /// <summary>When the last replication pass of this VM finished (for the pre-check); null when unknown.</summary>
    public DateTimeOffset? LastReplicatedAt { get; init; }

    /// <summary>Bytes the last replication pass found changed (for the pre-check); null when unknown.</summary>
    public long? LastDeltaBytes { get; init; }
}

/// <summary>The cutover of one application: several VMs moved together, with checks, DNS and rollback.</summary>
public sealed record CutoverPlan
{
    /// <summary>The application's name.</summary>
    public required string Application { get; init; }

    /// <summary>Its VMs.</summary>
    public required IReadOnlyList<CutoverVm> Vms { get; init; }

    /// <summary>A VM's last pass must be at most this old; null skips the check.</summary>
    public TimeSpan? MaxReplicationAge { get; init; } = TimeSpan.FromMinutes(30);

    /// <summary>A VM's last delta must be at most this many bytes; null skips the check.</summary>
    public long? MaxDeltaBytes { get; init; }

    /// <summary>DNS names whose TTL is checked before anything stops.</summary>
    public IReadOnlyList<string> DnsNames { get; init; } = [];

    /// <summary>The largest TTL allowed on <see cref="DnsNames"/>.</summary>
    public TimeSpan MaxDnsTtl { get; init; } = TimeSpan.FromMinutes(5);

    /// <summary>The name server asked for TTLs; null for the system's.</summary>
    public IPEndPoint? DnsServer { get; init; }

    /// <summary>Switches DNS after validation; null when DNS does not change.</summary>
    public IDnsSwitch? Dns { get; init; }

    /// <summary>How long the probes of all VMs may take to pass after the targets started.</summary>
    public TimeSpan ValidationTimeout { get; init; } = TimeSpan.FromMinutes(5);

    /// <summary>Time between probe attempts.</summary>
    public TimeSpan ProbeInterval { get; init; } = TimeSpan.FromSeconds(2);

    /// <summary>Stop the targets and restart the sources when validation fails (on by default).</summary>
    public bool RollbackOnFailure { get; init; } = true;
}
