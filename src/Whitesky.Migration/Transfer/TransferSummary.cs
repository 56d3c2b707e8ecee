namespace Whitesky.Migration.Transfer;

/// <summary>What a finished transfer did.</summary>
public sealed record TransferSummary
{
    /// <summary>The source's name.</summary>
    public required string Source { get; init; }

    /// <summary>The target's name.</summary>
    public required string Target { get; init; }

    /// <summary>Bytes of the target the transfer covered (the source's capacity, rounded up to the target's block size).</summary>
    public required long TotalBytes { get; init; }

    /// <summary>Bytes read from the source.</summary>
    public required long BytesRead { get; init; }

    /// <summary>Bytes sent as data.</summary>
    public required long BytesWritten { get; init; }

    /// <summary>Bytes made zero on the target.</summary>
    public required long BytesZeroed { get; init; }

    /// <summary>Zero bytes not sent because the target already reads as zero.</summary>
    public required long BytesSkipped { get; init; }

    /// <summary>Bytes an earlier run had completed (from the checkpoint), not sent again.</summary>
    public required long BytesResumed { get; init; }

    /// <summary>WRITE requests sent (retries included).</summary>
    public required long WriteRequests { get; init; }

    /// <summary>Zeroing requests sent (retries included).</summary>
    public required long ZeroRequests { get; init; }

    /// <summary>Requests sent again after a transient failure.</summary>
    public required int Retries { get; init; }

    /// <summary>Whether the target was treated as reading zero (holes skipped).</summary>
    public required bool TargetIsZero { get; init; }

    /// <summary>Bytes compared with the source after the copy (0 without verification).</summary>
    public required long BytesVerified { get; init; }

    /// <summary>Wall time of the whole transfer.</summary>
    public required TimeSpan Duration { get; init; }

    /// <summary>Data bytes written per second over the whole transfer.</summary>
    public required double AverageBytesPerSecond { get; init; }

    /// <summary>The highest data rate seen over one progress interval.</summary>
    public required double PeakBytesPerSecond { get; init; }
}
