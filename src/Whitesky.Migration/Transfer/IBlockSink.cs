namespace Whitesky.Migration.Transfer;

/// <summary>
/// Where a transfer writes: an NBD export, a raw file, or nothing. Calls may run concurrently; requests respect
/// <see cref="MinimumBlockSize"/> alignment and <see cref="MaximumRequestSize"/>.
/// </summary>
public interface IBlockSink : IAsyncDisposable
{
    /// <summary>A name for messages and checkpoints (an URI without secrets, a path).</summary>
    string Name { get; }

    /// <summary>Size of the target in bytes.</summary>
    long Capacity { get; }

    /// <summary>Requests start and end on multiples of this (except at <see cref="Capacity"/>).</summary>
    int MinimumBlockSize { get; }

    /// <summary>The size the target handles best; requests are aligned to it where they can be.</summary>
    int PreferredBlockSize { get; }

    /// <summary>The largest write payload in bytes.</summary>
    int MaximumRequestSize { get; }

    /// <summary>Whether <see cref="ReadAsync"/> works (needed to verify).</summary>
    bool CanRead { get; }

    /// <summary>Writes <paramref name="data"/> at <paramref name="offset"/>.</summary>
    ValueTask WriteAsync(long offset, ReadOnlyMemory<byte> data, CancellationToken cancellationToken = default);

    /// <summary>Makes a range read as zeroes, the cheapest way the target allows.</summary>
    ValueTask WriteZeroesAsync(long offset, long length, CancellationToken cancellationToken = default);

    /// <summary>Makes every completed write durable.</summary>
    ValueTask FlushAsync(CancellationToken cancellationToken = default);

    /// <summary>Reads back a range (for verification).</summary>
    ValueTask ReadAsync(long offset, Memory<byte> buffer, CancellationToken cancellationToken = default);

    /// <summary>Whether the range is known to read as zeroes without reading it (false when the target cannot tell).</summary>
    ValueTask<bool> ReadsAsZeroAsync(long offset, long length, CancellationToken cancellationToken = default);

    /// <summary>
    /// Called after a request failed with <paramref name="failure"/>: returns true when the request may be sent
    /// again (the error is transient, or the sink reconnected), false when it is permanent.
    /// </summary>
    ValueTask<bool> RecoverAsync(Exception failure, CancellationToken cancellationToken = default);
}
