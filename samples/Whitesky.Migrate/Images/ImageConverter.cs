using System.Buffers;
using Microsoft.Win32.SafeHandles;
using Whitesky.DiskFormats;

namespace Whitesky.Migrate.Images;

/// <summary>
/// Writes the logical content of a virtual disk to a sparse raw file (or nowhere, to measure decoding):
/// only data extents are read, all-zero blocks inside them are left as holes, and reads run in parallel
/// so compressed formats decompress on every core.
/// </summary>
internal static class ImageConverter
{
    private const int ChunkSize = 4 * 1024 * 1024;
    private const int ZeroBlock = 4096;

    /// <summary>Converts; returns the bytes of data written (or, without a target, decoded).</summary>
    public static async Task<long> ConvertAsync(IVirtualDisk disk, string? target, CancellationToken cancellationToken)
    {
        var chunks = new List<(long Offset, int Length)>();
        await foreach (var extent in disk.GetExtentsAsync(0, disk.Capacity, cancellationToken))
        {
            if (extent.Kind != DiskExtentKind.Data)
            {
                continue;
            }

            for (var offset = extent.Offset; offset < extent.End; offset += ChunkSize)
            {
                chunks.Add((offset, (int)Math.Min(ChunkSize, extent.End - offset)));
            }
        }

        SafeFileHandle? output = null;
        if (target is not null)
        {
            output = File.OpenHandle(target, FileMode.CreateNew, FileAccess.ReadWrite, FileShare.None, FileOptions.None, preallocationSize: 0);
            RandomAccess.SetLength(output, disk.Capacity);
        }

        long written = 0;
        try
        {
            await Parallel.ForEachAsync(chunks, new ParallelOptions { MaxDegreeOfParallelism = Environment.ProcessorCount * 2, CancellationToken = cancellationToken },
                async (chunk, ct) =>
                {
                    var buffer = ArrayPool<byte>.Shared.Rent(chunk.Length);
                    try
                    {
                        var memory = buffer.AsMemory(0, chunk.Length);
                        await disk.ReadAsync(chunk.Offset, memory, ct);
                        Interlocked.Add(ref written, output is null ? chunk.Length : await WriteDataBlocksAsync(output, chunk.Offset, memory, ct));
                    }
                    finally
                    {
                        ArrayPool<byte>.Shared.Return(buffer);
                    }
                });
        }
        finally
        {
            output?.Dispose();
        }

        return written;
    }

    /// <summary>
    /// Converts a disk read in one pass (chunks in any order, as a VMA archive stores them); returns the bytes of data
    /// written (or, without a target, decoded). Zero chunks and all-zero blocks stay holes of the new file.
    /// </summary>
    public static async Task<long> ConvertSequentialAsync(ISequentialDisk disk, string? target, CancellationToken cancellationToken)
    {
        SafeFileHandle? output = null;
        if (target is not null)
        {
            output = File.OpenHandle(target, FileMode.CreateNew, FileAccess.ReadWrite, FileShare.None, FileOptions.None, preallocationSize: 0);
            RandomAccess.SetLength(output, disk.Capacity);
        }

        long written = 0;
        try
        {
            await foreach (var chunk in disk.ReadChunksAsync(cancellationToken))
            {
                if (chunk.Kind == DiskChunkKind.Data)
                {
                    written += output is null ? chunk.Length : await WriteDataBlocksAsync(output, chunk.Offset, chunk.Data, cancellationToken);
                }
            }
        }
        finally
        {
            output?.Dispose();
        }

        return written;
    }

    private static async ValueTask<long> WriteDataBlocksAsync(SafeFileHandle output, long offset, ReadOnlyMemory<byte> data, CancellationToken cancellationToken)
    {
        long written = 0;
        var position = 0;
        while (position < data.Length)
        {
            var length = Math.Min(ZeroBlock, data.Length - position);
            if (!data.Span.Slice(position, length).ContainsAnyExcept((byte)0))
            {
                position += length;
                continue;
            }

            // Extend the run over the following non-zero blocks and write it at once.
            var end = position + length;
            while (end < data.Length)
            {
                var next = Math.Min(ZeroBlock, data.Length - end);
                if (!data.Span.Slice(end, next).ContainsAnyExcept((byte)0))
                {
                    break;
                }

                end += next;
            }

            await RandomAccess.WriteAsync(output, data[position..end], offset + position, cancellationToken);
            written += end - position;
            position = end;
        }

        return written;
    }
}
