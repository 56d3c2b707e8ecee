using Microsoft.Win32.SafeHandles;

namespace Whitesky.DiskFormats;

/// <summary>
/// A file read with positional I/O (<see cref="RandomAccess"/>); concurrent reads need no lock. What the page cache
/// holds is read on the caller's thread (Linux), the rest on the thread pool.
/// </summary>
public sealed class FileSource : IRandomAccessSource
{
    private readonly SafeFileHandle _handle;

    // Cached bytes are read on the caller's thread while the kernel supports it (see CachedFileReads).
    private volatile bool _readCachedInline = OperatingSystem.IsLinux();

    private FileSource(SafeFileHandle handle, string path, long length)
    {
        _handle = handle;
        Name = path;
        Length = length;
    }

    /// <inheritdoc />
    public long Length { get; }

    /// <inheritdoc />
    public string Name { get; }

    /// <summary>The handle, for callers that ask the OS about the file (allocation, for example).</summary>
    public SafeFileHandle Handle => _handle;

    /// <summary>
    /// Opens the file at <paramref name="path"/> and hands it to <paramref name="open"/>, which takes ownership of it
    /// when it succeeds; when it fails, the file is closed again. Every error (a bad path included) comes through
    /// the returned task.
    /// </summary>
    internal static async Task<T> OpenOwnedAsync<T>(string path, Func<FileSource, Task<T>> open)
    {
        var source = Open(path);
        try
        {
            return await open(source).ConfigureAwait(false);
        }
        catch
        {
            await source.DisposeAsync().ConfigureAwait(false);
            throw;
        }
    }

    /// <summary>Opens a file for reading.</summary>
    public static FileSource Open(string path)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        var handle = File.OpenHandle(path, FileMode.Open, FileAccess.Read, FileShare.Read, FileOptions.Asynchronous);
        try
        {
            return new FileSource(handle, path, RandomAccess.GetLength(handle));
        }
        catch
        {
            handle.Dispose();
            throw;
        }
    }

    /// <inheritdoc />
    public async ValueTask<int> ReadAsync(long offset, Memory<byte> buffer, CancellationToken cancellationToken = default)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(offset);
        cancellationToken.ThrowIfCancellationRequested();
        var total = 0;
        if (_readCachedInline)
        {
            total = CachedFileReads.Read(_handle, offset, buffer.Span, out var endOfFile);
            if (total < 0)
            {
                _readCachedInline = false;
                total = 0;
            }
            else if (endOfFile || total == buffer.Length)
            {
                return total;
            }
        }

        while (total < buffer.Length)
        {
            var read = await RandomAccess.ReadAsync(_handle, buffer[total..], offset + total, cancellationToken).ConfigureAwait(false);
            if (read == 0)
            {
                break;
            }

            total += read;
        }

        return total;
    }

    /// <inheritdoc />
    public ValueTask DisposeAsync()
    {
        _handle.Dispose();
        return ValueTask.CompletedTask;
    }
}
