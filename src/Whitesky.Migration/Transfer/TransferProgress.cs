namespace Whitesky.Migration.Transfer;

/// <summary>What a transfer is doing.</summary>
public enum TransferPhase
{
    /// <summary>Reading the source's extent map and the checkpoint.</summary>
    Planning,

    /// <summary>Moving data.</summary>
    Copying,

    /// <summary>Waiting for the target to make the writes durable.</summary>
    Flushing,

    /// <summary>Reading the target back and comparing with the source's hashes.</summary>
    Verifying,

    /// <summary>Done.</summary>
    Completed,
}

/// <summary>A snapshot of a transfer in progress.</summary>
public sealed record TransferProgress
{
    /// <summary>What the transfer is doing.</summary>
    public required TransferPhase Phase { get; init; }

    /// <summary>Bytes of the target the transfer covers.</summary>
    public required long TotalBytes { get; init; }

    /// <summary>Bytes done: written, zeroed, skipped, or done by an earlier run (checkpoint).</summary>
    public required long CompletedBytes { get; init; }

    /// <summary>Bytes read from the source (data extents).</summary>
    public required long BytesRead { get; init; }

    /// <summary>Bytes sent as data (WRITE).</summary>
    public required long BytesWritten { get; init; }

    /// <summary>Bytes made zero on the target (WRITE_ZEROES or zero buffers).</summary>
    public required long BytesZeroed { get; init; }

    /// <summary>Bytes not sent at all: zeroes on a target that reads as zero.</summary>
    public required long BytesSkipped { get; init; }

    /// <summary>Bytes an earlier run completed (from the checkpoint).</summary>
    public required long BytesResumed { get; init; }

    /// <summary>Requests sent again after a transient failure.</summary>
    public required int Retries { get; init; }

    /// <summary>Time since the transfer started.</summary>
    public required TimeSpan Elapsed { get; init; }

    /// <summary>Data bytes written per second since the start.</summary>
    public required double BytesPerSecond { get; init; }

    /// <summary>Estimated time to finish, when it can be told.</summary>
    public TimeSpan? EstimatedRemaining { get; init; }
}
