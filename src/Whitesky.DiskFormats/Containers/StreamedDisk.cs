namespace Whitesky.DiskFormats.Containers;

/// <summary>The part every disk decoded from a forward-only stream shares: one enumeration, and the stream it reads.</summary>
internal abstract class StreamedDisk(PeekStream stream, string name, long capacity) : ISequentialDisk
{
    private int _enumerated;

    protected PeekStream Stream { get; } = stream;

    public string Name { get; } = name;

    public long Capacity { get; } = capacity;

    public int LogicalSectorSize => 512;

    public bool ChunksInOffsetOrder => true;

    public abstract DiskInfo Describe();

    public IAsyncEnumerable<DiskChunk> ReadChunksAsync(CancellationToken cancellationToken = default)
    {
        if (Interlocked.Exchange(ref _enumerated, 1) != 0)
        {
            throw new InvalidOperationException($"{Name}: the chunks of a sequential disk can be read only once.");
        }

        return ReadAsync(cancellationToken);
    }

    protected abstract IAsyncEnumerable<DiskChunk> ReadAsync(CancellationToken cancellationToken);

    public virtual ValueTask DisposeAsync() => Stream.DisposeAsync();
}
