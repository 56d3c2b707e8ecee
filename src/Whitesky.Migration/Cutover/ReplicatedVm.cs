using Whitesky.Migration.Replication;

namespace Whitesky.Migration.Cutover;

/// <summary>Builds the <see cref="CutoverVm"/> of a VM replicated by <see cref="ReplicationSession"/> into whitesky disks.</summary>
public static class ReplicatedVm
{
    /// <summary>
    /// A cutover VM whose final sync runs the last pass of each session (in parallel) and then unexposes each
    /// whitesky disk (so the target VM can boot from it); the pre-checks read the sessions' last passes.
    /// </summary>
    /// <param name="name">The VM's name in the report.</param>
    /// <param name="disks">The VM's disks: each session with its whitesky target disk (null for another kind of target).</param>
    /// <param name="stopSource">Quiesces and stops the source VM.</param>
    /// <param name="restartSource">Starts the source again on rollback; null when it cannot be.</param>
    /// <param name="target">Starts and stops the target VM.</param>
    /// <param name="probes">What must pass before the VM counts as validated.</param>
    public static CutoverVm Create(string name, IReadOnlyList<(ReplicationSession Session, WhiteskyDiskTarget? Disk)> disks,
        Func<CancellationToken, Task> stopSource, Func<CancellationToken, Task>? restartSource, ICutoverTarget target,
        IReadOnlyList<IHealthProbe>? probes = null)
    {
        ArgumentException.ThrowIfNullOrEmpty(name);
        ArgumentNullException.ThrowIfNull(disks);
        ArgumentNullException.ThrowIfNull(stopSource);
        ArgumentNullException.ThrowIfNull(target);
        var last = disks.Select(d => d.Session.State.LastPass).ToList();
        return new CutoverVm
        {
            Name = name,
            StopSource = stopSource,
            RestartSource = restartSource,
            Target = target,
            Probes = probes ?? [],
            LastReplicatedAt = last.Any(p => p is null) ? null : last.Min(p => p!.FinishedAt),
            LastDeltaBytes = last.Any(p => p is null) ? null : last.Max(p => p!.BytesChanged),
            FinalSync = async cancellationToken =>
            {
                var passes = await Task.WhenAll(disks.Select(async d =>
                {
                    var pass = await d.Session.FinalSyncAsync(cancellationToken: cancellationToken).ConfigureAwait(false);
                    if (d.Disk is { } disk)
                    {
                        await disk.UnexposeAsync(cancellationToken).ConfigureAwait(false);
                    }

                    return pass;
                })).ConfigureAwait(false);
                return passes.Sum(p => p.BytesSent + p.BytesZeroed);
            },
        };
    }
}
