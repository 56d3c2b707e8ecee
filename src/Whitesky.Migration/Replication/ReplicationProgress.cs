using Whitesky.Migration.Transfer;

namespace Whitesky.Migration.Replication;

/// <summary>What a pass is doing.</summary>
public enum ReplicationStage
{
    /// <summary>Asking the change source what changed.</summary>
    Scanning,

    /// <summary>Copying the changed ranges.</summary>
    Copying,

    /// <summary>The pass reached the target and was committed.</summary>
    Committed,
}

/// <summary>A snapshot of a replication session.</summary>
public sealed record ReplicationProgress
{
    /// <summary>The pass number.</summary>
    public required int Pass { get; init; }

    /// <summary>What the pass is doing.</summary>
    public required ReplicationStage Stage { get; init; }

    /// <summary>Bytes the change source reported for this pass (known from <see cref="ReplicationStage.Copying"/> on).</summary>
    public long? BytesChanged { get; init; }

    /// <summary>The engine's progress while copying.</summary>
    public TransferProgress? Transfer { get; init; }

    /// <summary>The finished pass (at <see cref="ReplicationStage.Committed"/>).</summary>
    public ReplicationPass? Completed { get; init; }
}
