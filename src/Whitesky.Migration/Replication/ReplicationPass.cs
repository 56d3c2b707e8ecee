namespace Whitesky.Migration.Replication;

/// <summary>How a pass's delta compares with the previous incremental pass's.</summary>
public enum ReplicationTrend
{
    /// <summary>No previous incremental pass to compare with (the initial sync and the first incremental pass).</summary>
    None,

    /// <summary>The delta shrank (below <see cref="ReplicationOptions.ShrinkFactor"/> of the previous one).</summary>
    Shrinking,

    /// <summary>About the same as before.</summary>
    Steady,

    /// <summary>Larger than before.</summary>
    Growing,
}

/// <summary>Why <see cref="ReplicationSession.ReplicateAsync"/> stopped its passes.</summary>
public enum ReplicationStopReason
{
    /// <summary>The delta reached <see cref="ReplicationOptions.UntilDeltaBytes"/>.</summary>
    DeltaSmallEnough,

    /// <summary>A pass took at most <see cref="ReplicationOptions.UntilPassDuration"/>.</summary>
    PassFastEnough,

    /// <summary>The delta stopped shrinking for <see cref="ReplicationOptions.MaxPassesWithoutShrinking"/> passes.</summary>
    NotConverging,

    /// <summary><see cref="ReplicationOptions.MaxPasses"/> incremental passes ran.</summary>
    MaxPasses,
}

/// <summary>What one replication pass did.</summary>
public sealed record ReplicationPass
{
    /// <summary>0 for the initial full sync, then 1, 2, ...</summary>
    public required int Pass { get; init; }

    /// <summary>Whether this was the final sync (the source was stopped).</summary>
    public bool Final { get; init; }

    /// <summary>Bytes the change source reported (the ranges this pass copied).</summary>
    public required long BytesChanged { get; init; }

    /// <summary>Ranges the change source reported.</summary>
    public required int Ranges { get; init; }

    /// <summary>Data bytes written to the target.</summary>
    public required long BytesSent { get; init; }

    /// <summary>Bytes zeroed on the target (zero requests, no payload).</summary>
    public required long BytesZeroed { get; init; }

    /// <summary>Requests sent: writes plus zeroing requests plus the flush.</summary>
    public required long Requests { get; init; }

    /// <summary>Time to find the changes (scan, block status, hashing).</summary>
    public required TimeSpan ScanDuration { get; init; }

    /// <summary>Whole pass: scan, copy, flush, commit.</summary>
    public required TimeSpan Duration { get; init; }

    /// <summary>When the pass started.</summary>
    public required DateTimeOffset StartedAt { get; init; }

    /// <summary>When the pass was committed.</summary>
    public required DateTimeOffset FinishedAt { get; init; }

    /// <summary>Compared with the previous incremental pass.</summary>
    public required ReplicationTrend Trend { get; init; }
}
