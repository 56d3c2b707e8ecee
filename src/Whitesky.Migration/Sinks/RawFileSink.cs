using Microsoft.Win32.SafeHandles;
using Whitesky.Migration.Transfer;

namespace Whitesky.Migration.Sinks;

/// <summary>
/// A raw image file as a transfer target. A file this sink creates is sparse and reads as zero, so holes cost
/// nothing; in an existing file zeroes are written as zero buffers.
/// </summary>
public sealed class RawFileSink : IBlockSink
{
    private const int ZeroBufferSize = 1 << 20;
    private static readonly ReadOnlyMemory<byte> ZeroBuffer = new byte[ZeroBufferSize];

    private readonly SafeFileHandle _file;
    private readonly bool _created;
    private volatile bool _written;

    private RawFileSink(SafeFileHandle file, string path, long capacity, bool created)
    {
        _file = file;
        Name = path;
        Capacity = capacity;
        _created = created;
    }

    /// <summary>The file's full path.</summary>
    public string Name { get; }

    /// <inheritdoc />
    public long Capacity { get; }

    /// <inheritdoc />
    public int MinimumBlockSize => 1;

    /// <inheritdoc />
    public int PreferredBlockSize => 4096;

    /// <inheritdoc />
    public int MaximumRequestSize => 32 << 20;

    /// <inheritdoc />
    public bool CanRead => true;

    /// <summary>Creates (or truncates) a sparse file of <paramref name="capacity"/> bytes.</summary>
    public static RawFileSink Create(string path, long capacity)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        ArgumentOutOfRangeException.ThrowIfNegative(capacity);
        var full = Path.GetFullPath(path);
        var file = File.OpenHandle(full, FileMode.Create, FileAccess.ReadWrite, FileShare.Read);
        RandomAccess.SetLength(file, capacity);
        return new RawFileSink(file, full, capacity, created: true);
    }

    /// <summary>Opens an existing file; it grows to <paramref name="capacity"/> when it is shorter.</summary>
    public static RawFileSink Open(string path, long capacity)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        var full = Path.GetFullPath(path);
        var file = File.OpenHandle(full, FileMode.Open, FileAccess.ReadWrite, FileShare.Read);
        var length = RandomAccess.GetLength(file);
        if (length < capacity)
        {
            RandomAccess.SetLength(file, capacity);
        }

        return new RawFileSink(file, full, Math.Max(length, capacity), created: false);
    }

    /// <inheritdoc />
    public ValueTask WriteAsync(long offset, ReadOnlyMemory<byte> data, CancellationToken cancellationToken = default)
    {
        _written = true;
        return RandomAccess.WriteAsync(_file, data, offset, cancellationToken);
    }

    /// <inheritdoc />
    public async ValueTask WriteZeroesAsync(long offset, long length, CancellationToken cancellationToken = default)
    {
        _written = true;
        for (long done = 0; done < length;)
        {
            var part = (int)Math.Min(ZeroBufferSize, length - done);
            await RandomAccess.WriteAsync(_file, ZeroBuffer[..part], offset + done, cancellationToken).ConfigureAwait(false);
            done += part;
        }
    }

    /// <inheritdoc />
    public ValueTask FlushAsync(CancellationToken cancellationToken = default)
    {
        RandomAccess.FlushToDisk(_file);
        return ValueTask.CompletedTask;
    }

    /// <inheritdoc />
    public async ValueTask ReadAsync(long offset, Memory<byte> buffer, CancellationToken cancellationToken = default)
    {
        var filled = 0;
        while (filled < buffer.Length)
        {
            var read = await RandomAccess.ReadAsync(_file, buffer[filled..], offset + filled, cancellationToken).ConfigureAwait(false);
            if (read == 0)
            {
                buffer.Span[filled..].Clear();
                return;
            }

            filled += read;
        }
    }

    /// <summary>True for a file this sink created and has not written yet (a fresh sparse file reads as zero).</summary>
    public ValueTask<bool> ReadsAsZeroAsync(long offset, long length, CancellationToken cancellationToken = default) => ValueTask.FromResult(_created && !_written);

    /// <summary>False: file errors are not transient.</summary>
    public ValueTask<bool> RecoverAsync(Exception failure, CancellationToken cancellationToken = default) => ValueTask.FromResult(false);

    /// <inheritdoc />
    public ValueTask DisposeAsync()
    {
        _file.Dispose();
        return ValueTask.CompletedTask;
    }
}
