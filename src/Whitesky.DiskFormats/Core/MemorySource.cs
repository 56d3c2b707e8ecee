namespace Whitesky.DiskFormats;

/// <summary>Bytes in memory as a source (tests, small embedded images).</summary>
public sealed class MemorySource : IRandomAccessSource
{
    private readonly ReadOnlyMemory<byte> _data;

    /// <summary>Wraps <paramref name="data"/> (not copied).</summary>
    public MemorySource(ReadOnlyMemory<byte> data, string name = "memory")
    {
        _data = data;
        Name = name;
    }

    /// <inheritdoc />
    public long Length => _data.Length;

    /// <inheritdoc />
    public string Name { get; }

    /// <inheritdoc />
    public ValueTask<int> ReadAsync(long offset, Memory<byte> buffer, CancellationToken cancellationToken = default)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(offset);
        if (offset >= _data.Length)
        {
            return ValueTask.FromResult(0);
        }

        var count = (int)Math.Min(buffer.Length, _data.Length - offset);
        _data.Span.Slice((int)offset, count).CopyTo(buffer.Span);
        return ValueTask.FromResult(count);
    }

    /// <inheritdoc />
    public ValueTask DisposeAsync() => ValueTask.CompletedTask;
}
