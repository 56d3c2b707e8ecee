namespace Whitesky.DiskFormats;

/// <summary>
/// Bytes that can be read at any offset: a file, a range of an S3 object, an NBD export, memory.
/// Implementations must allow concurrent reads.
/// </summary>
public interface IRandomAccessSource : IAsyncDisposable
{
    /// <summary>Length in bytes.</summary>
    long Length { get; }

    /// <summary>A name for messages (a file path, a URL without credentials).</summary>
    string Name { get; }

    /// <summary>
    /// Reads up to <paramref name="buffer"/>.Length bytes at <paramref name="offset"/>; returns how many were
    /// read, fewer only at the end of the source.
    /// </summary>
    ValueTask<int> ReadAsync(long offset, Memory<byte> buffer, CancellationToken cancellationToken = default);
}
