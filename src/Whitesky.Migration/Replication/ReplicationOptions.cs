namespace Whitesky.Migration.Replication;

/// <summary>When a <see cref="ReplicationSession"/> stops its incremental passes, and where it keeps its state.</summary>
public sealed record ReplicationOptions
{
    /// <summary>Converged when an incremental pass found at most this many changed bytes (default 64 MiB).</summary>
    public long UntilDeltaBytes { get; init; } = 64L * 1024 * 1024;

    /// <summary>Converged when an incremental pass took at most this long; null to ignore pass duration.</summary>
    public TimeSpan? UntilPassDuration { get; init; }

    /// <summary>The most incremental passes <see cref="ReplicationSession.ReplicateAsync"/> runs (default 20).</summary>
    public int MaxPasses { get; init; } = 20;

    /// <summary>
    /// Stop when the delta did not shrink for this many incremental passes in a row (the source writes as fast as
    /// the passes copy; more passes will not get closer); 0 never stops for that. Default 3.
    /// </summary>
    public int MaxPassesWithoutShrinking { get; init; } = 3;

    /// <summary>A delta counts as shrinking when it is below this fraction of the previous one (default 0.9).</summary>
    public double ShrinkFactor { get; init; } = 0.9;

    /// <summary>Wait between incremental passes (default none).</summary>
    public TimeSpan PassInterval { get; init; } = TimeSpan.Zero;

    /// <summary>
    /// A JSON file the session state is saved to after every pass (the change source's own state, where it has one,
    /// goes beside it as <c>FILE.changes</c>); null keeps it in memory only.
    /// </summary>
    public string? StatePath { get; init; }

    internal void Validate()
    {
        ArgumentOutOfRangeException.ThrowIfNegative(UntilDeltaBytes, nameof(UntilDeltaBytes));
        ArgumentOutOfRangeException.ThrowIfLessThan(MaxPasses, 1, nameof(MaxPasses));
        ArgumentOutOfRangeException.ThrowIfNegative(MaxPassesWithoutShrinking, nameof(MaxPassesWithoutShrinking));
        if (ShrinkFactor is <= 0 or > 1)
        {
            throw new ArgumentOutOfRangeException(nameof(ShrinkFactor), ShrinkFactor, "The shrink factor must be in (0, 1].");
        }

        ArgumentOutOfRangeException.ThrowIfLessThan(PassInterval, TimeSpan.Zero, nameof(PassInterval));
    }
}
