using Whitesky.Migration.Transfer;

namespace Whitesky.Migration.Sinks;

/// <summary>A target that discards everything and reads as zero: for measuring how fast a source decodes.</summary>
public sealed class NullBlockSink : IBlockSink
{
    /// <summary>A sink of <paramref name="capacity"/> bytes.</summary>
    public NullBlockSink(long capacity = long.MaxValue / 2)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(capacity);
        Capacity = capacity;
    }

    /// <inheritdoc />
    public string Name => "null";

    /// <inheritdoc />
    public long Capacity { get; }

    /// <inheritdoc />
    public int MinimumBlockSize => 1;

    /// <inheritdoc />
    public int PreferredBlockSize => 4096;

    /// <inheritdoc />
    public int MaximumRequestSize => 32 << 20;

    /// <summary>False: nothing is kept to read back.</summary>
    public bool CanRead => false;

    /// <inheritdoc />
    public ValueTask WriteAsync(long offset, ReadOnlyMemory<byte> data, CancellationToken cancellationToken = default) => ValueTask.CompletedTask;

    /// <inheritdoc />
    public ValueTask WriteZeroesAsync(long offset, long length, CancellationToken cancellationToken = default) => ValueTask.CompletedTask;

    /// <inheritdoc />
    public ValueTask FlushAsync(CancellationToken cancellationToken = default) => ValueTask.CompletedTask;

    /// <summary>Not supported: nothing is kept.</summary>
    public ValueTask ReadAsync(long offset, Memory<byte> buffer, CancellationToken cancellationToken = default) =>
        throw new NotSupportedException("The null sink keeps nothing to read back.");

    /// <summary>True: the null sink reads as zero.</summary>
    public ValueTask<bool> ReadsAsZeroAsync(long offset, long length, CancellationToken cancellationToken = default) => ValueTask.FromResult(true);

    /// <summary>False: the null sink never fails.</summary>
    public ValueTask<bool> RecoverAsync(Exception failure, CancellationToken cancellationToken = default) => ValueTask.FromResult(false);

    /// <inheritdoc />
    public ValueTask DisposeAsync() => ValueTask.CompletedTask;
}
