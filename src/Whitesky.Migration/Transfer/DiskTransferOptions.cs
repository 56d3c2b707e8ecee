namespace Whitesky.Migration.Transfer;

/// <summary>How <see cref="DiskTransfer"/> copies; the defaults suit an NBD target over a LAN or loopback.</summary>
public sealed record DiskTransferOptions
{
    /// <summary>
    /// The default largest request. Measured with benchmarks/compare on 2 cores: 1 and 2 MiB tie on plain copies,
    /// 2 MiB is fastest over TLS-PSK; 256 KiB (more requests) and 4 MiB (fewer buffers in flight) are slower.
    /// </summary>
    public const int DefaultRequestSize = 2 * 1024 * 1024;

    /// <summary>The largest zeroing request: a huge hole still spreads over connections and shows progress.</summary>
    public const long MaxZeroRequest = 1L << 30;

    /// <summary>Largest WRITE in bytes; null for min(<see cref="DefaultRequestSize"/>, the sink's maximum).</summary>
    public int? RequestSize { get; init; }

    /// <summary>Requests in flight over all connections.</summary>
    public int MaxRequestsInFlight { get; init; } = 64;

    /// <summary>Memory for data buffers in flight; with the request size it bounds the data requests in flight.</summary>
    public long BufferMemory { get; init; } = 64L * 1024 * 1024;

    /// <summary>Zero detection granularity: whole blocks of this size that are all zero are not sent as data.</summary>
    public int ZeroBlockSize { get; init; } = 4096;

    /// <summary>
    /// Whether the target reads as zero before the copy: true skips holes and zero blocks, false zeroes them,
    /// null asks the target (block status) and otherwise zeroes.
    /// </summary>
    public bool? TargetIsZero { get; init; }

    /// <summary>Hash the source's blocks (XxHash128) and compare them with a read-back of the target after the copy.</summary>
    public bool Verify { get; init; }

    /// <summary>Where completed ranges are recorded, so that a restarted transfer sends only what is missing; null for none.</summary>
    public ITransferCheckpointStore? CheckpointStore { get; init; }

    /// <summary>How often the checkpoint is saved (each save first flushes the target, so it records only durable ranges).</summary>
    public TimeSpan CheckpointInterval { get; init; } = TimeSpan.FromSeconds(10);

    /// <summary>
    /// Identifies the source's content for the checkpoint (for example a path with its modification time or a
    /// snapshot id); null uses what the source describes (name, format, sizes).
    /// </summary>
    public string? SourceIdentity { get; init; }

    /// <summary>
    /// Identifies the target for the checkpoint (for example a disk id, when the same disk may be reached at another
    /// address after a restart); null uses the sink's name and capacity.
    /// </summary>
    public string? TargetIdentity { get; init; }

    /// <summary>How many times one request is sent again after a transient failure before the transfer fails.</summary>
    public int MaxRetries { get; init; } = 5;

    /// <summary>Wait before the first retry; doubled for each further one.</summary>
    public TimeSpan RetryDelay { get; init; } = TimeSpan.FromMilliseconds(200);

    /// <summary>Data bytes per second at most; null for no limit.</summary>
    public long? BandwidthLimit { get; init; }

    /// <summary>How often progress is reported.</summary>
    public TimeSpan ProgressInterval { get; init; } = TimeSpan.FromSeconds(1);

    /// <summary>Send one FLUSH once every write completed (on by default).</summary>
    public bool Flush { get; init; } = true;

    internal void Validate()
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(MaxRequestsInFlight, 1, nameof(MaxRequestsInFlight));
        ArgumentOutOfRangeException.ThrowIfLessThan(BufferMemory, 1, nameof(BufferMemory));
        ArgumentOutOfRangeException.ThrowIfLessThan(ZeroBlockSize, 512, nameof(ZeroBlockSize));
        ArgumentOutOfRangeException.ThrowIfNegative(MaxRetries, nameof(MaxRetries));
        if (RequestSize is { } size)
        {
            ArgumentOutOfRangeException.ThrowIfLessThan(size, 512, nameof(RequestSize));
        }

        if (BandwidthLimit is { } limit)
        {
            ArgumentOutOfRangeException.ThrowIfLessThan(limit, 1, nameof(BandwidthLimit));
        }

        ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(ProgressInterval, TimeSpan.Zero, nameof(ProgressInterval));
        ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(CheckpointInterval, TimeSpan.Zero, nameof(CheckpointInterval));
    }
}
