namespace Whitesky.Migration.Planning;

/// <summary>One VM's disks as the planner sees them.</summary>
/// <param name="Name">The VM (for the report).</param>
/// <param name="AllocatedBytes">Bytes that have to be copied once (allocated data of all its disks).</param>
/// <param name="ChangeRateBytesPerSecond">
/// How fast the running workload dirties distinct bytes, at the change tracker's granularity (a 4 KiB write
/// dirties a whole 64 KiB bitmap block: count 64 KiB).
/// </param>
public sealed record WorkloadProfile(string Name, long AllocatedBytes, double ChangeRateBytesPerSecond);

/// <summary>What the planner assumes besides the workloads.</summary>
public sealed record PlanningAssumptions
{
    /// <summary>Throughput from the source site into whitesky, in bytes per second, shared by all VMs.</summary>
    public required double BandwidthBytesPerSecond { get; init; }

    /// <summary>Fixed time per replication pass (asking for the change map, connecting), per VM in parallel.</summary>
    public TimeSpan PassOverhead { get; init; } = TimeSpan.FromSeconds(5);

    /// <summary>Fixed cutover time besides the final sync: stop sources, create and start targets, validate, switch DNS.</summary>
    public TimeSpan CutoverFixedTime { get; init; } = TimeSpan.FromMinutes(3);

    /// <summary>Fixed time of an offline import besides the copy itself (stop, create, start, validate).</summary>
    public TimeSpan OfflineFixedTime { get; init; } = TimeSpan.FromMinutes(5);

    /// <summary>Incremental passes stop when a pass is shorter than this (the final sync then fits in the window).</summary>
    public TimeSpan TargetPassDuration { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>At most this many incremental passes are planned before the final sync.</summary>
    public int MaxPasses { get; init; } = 20;
}

/// <summary>Which path fits the downtime window.</summary>
public enum MigrationRecommendation
{
    /// <summary>Stop, copy and start within the window: the simplest path (streaming import or OVF via S3).</summary>
    Offline,

    /// <summary>Replicate while the source runs and cut over: only the final delta falls into the window.</summary>
    NearlyOnline,

    /// <summary>Neither path fits: the window is too short, or the workload changes data faster than it can be sent.</summary>
    NotFeasible,
}

/// <summary>The planner's estimate.</summary>
public sealed record MigrationPlanEstimate
{
    /// <summary>The recommended path.</summary>
    public required MigrationRecommendation Recommendation { get; init; }

    /// <summary>Why, in words.</summary>
    public required string Reason { get; init; }

    /// <summary>Downtime of an offline import of everything.</summary>
    public required TimeSpan OfflineDowntime { get; init; }

    /// <summary>Time of the initial full sync while the sources run.</summary>
    public required TimeSpan InitialSync { get; init; }

    /// <summary>The planned incremental passes, in order (each copies what changed during the previous one).</summary>
    public required IReadOnlyList<TimeSpan> Passes { get; init; }

    /// <summary>Time of the final sync after the sources stopped (the delta of the last pass).</summary>
    public required TimeSpan FinalSync { get; init; }

    /// <summary>Cutover downtime: the final sync plus the fixed cutover steps; null when replication cannot converge.</summary>
    public required TimeSpan? NearlyOnlineDowntime { get; init; }

    /// <summary>Whether the passes shrink: the combined change rate is below the bandwidth.</summary>
    public required bool Converges { get; init; }
}

/// <summary>
/// Estimates initial sync, per-pass and cutover times from sizes, change rates and bandwidth, and recommends
/// the offline or the nearly-online path for a downtime window. The model: a pass of duration T leaves
/// <c>rate × T</c> changed bytes, so pass durations shrink geometrically by <c>rate / bandwidth</c> plus a fixed overhead.
/// </summary>
public static class MigrationPlanner
{
    /// <summary>Estimates both paths for the workloads of one application (moved together, sharing the bandwidth).</summary>
    public static MigrationPlanEstimate Estimate(IReadOnlyList<WorkloadProfile> workloads, PlanningAssumptions assumptions, TimeSpan downtimeWindow)
    {
        ArgumentNullException.ThrowIfNull(workloads);
        ArgumentNullException.ThrowIfNull(assumptions);
        ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(assumptions.BandwidthBytesPerSecond, 0);
        ArgumentOutOfRangeException.ThrowIfNegative(assumptions.MaxPasses);
        foreach (var w in workloads)
        {
            ArgumentOutOfRangeException.ThrowIfNegative(w.AllocatedBytes, nameof(workloads));
            ArgumentOutOfRangeException.ThrowIfNegative(w.ChangeRateBytesPerSecond, nameof(workloads));
        }

        var bandwidth = assumptions.BandwidthBytesPerSecond;
        var allocated = workloads.Sum(w => (double)w.AllocatedBytes);
        var rate = workloads.Sum(w => w.ChangeRateBytesPerSecond);
        var overhead = assumptions.PassOverhead.TotalSeconds;
        var offline = TimeSpan.FromSeconds(allocated / bandwidth) + assumptions.OfflineFixedTime;

        var initial = allocated / bandwidth;
        var converges = rate < bandwidth;
        var passes = new List<TimeSpan>();
        var previous = initial;
        if (converges)
        {
            while (passes.Count < assumptions.MaxPasses)
            {
                var next = (rate * previous / bandwidth) + overhead;
                if (previous <= assumptions.TargetPassDuration.TotalSeconds || next >= previous * 0.95)
                {
                    break; // short enough, or no longer shrinking noticeably
                }

                passes.Add(TimeSpan.FromSeconds(next));
                previous = next;
            }
        }

        var finalSync = TimeSpan.FromSeconds((rate * previous / bandwidth) + overhead);
        TimeSpan? online = converges ? finalSync + assumptions.CutoverFixedTime : null;

        MigrationRecommendation recommendation;
        string reason;
        if (offline <= downtimeWindow)
        {
            recommendation = MigrationRecommendation.Offline;
            reason = $"An offline import takes about {Format(offline)}, within the {Format(downtimeWindow)} window; replication would add complexity for no gain.";
        }
        else if (online is { } d && d <= downtimeWindow)
        {
            recommendation = MigrationRecommendation.NearlyOnline;
            reason = $"An offline import needs about {Format(offline)} of downtime; replicating first ({Format(TimeSpan.FromSeconds(initial))} initial sync, {passes.Count} incremental passes) leaves a cutover of about {Format(d)}, within the {Format(downtimeWindow)} window.";
        }
        else if (!converges)
        {
            recommendation = MigrationRecommendation.NotFeasible;
            reason = $"The workloads change {rate / 1e6:0.#} MB/s, at least the {bandwidth / 1e6:0.#} MB/s bandwidth: replication would never catch up, and an offline import needs {Format(offline)}.";
        }
        else
        {
            recommendation = MigrationRecommendation.NotFeasible;
            reason = $"The shortest cutover is about {Format(online!.Value)} (offline: {Format(offline)}), longer than the {Format(downtimeWindow)} window; more bandwidth or a quieter period is needed.";
        }

        return new MigrationPlanEstimate
        {
            Recommendation = recommendation,
            Reason = reason,
            OfflineDowntime = offline,
            InitialSync = TimeSpan.FromSeconds(initial),
            Passes = passes,
            FinalSync = finalSync,
            NearlyOnlineDowntime = online,
            Converges = converges,
        };
    }

    private static string Format(TimeSpan t) => t.TotalHours >= 1 ? $"{t.TotalHours:0.#} h" : t.TotalMinutes >= 1 ? $"{t.TotalMinutes:0.#} min" : $"{t.TotalSeconds:0} s";
}
