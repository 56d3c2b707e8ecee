using System.Buffers;
using System.Runtime.CompilerServices;

namespace Whitesky.DiskFormats;

/// <summary>Adapters between random-access and sequential disks.</summary>
public static class SequentialDisk
{
    /// <summary>The default size of the data chunks the adapter produces.</summary>
    public const int DefaultChunkSize = 1024 * 1024;

    /// <summary>
    /// Reads a random-access disk as a sequence of chunks in offset order: data extents as data chunks of at most
    /// <paramref name="chunkSize"/> bytes, zero extents as zero runs, unallocated extents not at all. Disposing the
    /// result does not dispose <paramref name="disk"/>.
    /// </summary>
    public static ISequentialDisk FromVirtualDisk(IVirtualDisk disk, int chunkSize = DefaultChunkSize)
    {
        ArgumentNullException.ThrowIfNull(disk);
        ArgumentOutOfRangeException.ThrowIfLessThan(chunkSize, 512);
        return new VirtualDiskChunks(disk, chunkSize);
    }

    private sealed class VirtualDiskChunks(IVirtualDisk disk, int chunkSize) : ISequentialDisk
    {
        private int _enumerated;

        public string Name => disk.Describe().Name;

        public long Capacity => disk.Capacity;

        public int LogicalSectorSize => disk.LogicalSectorSize;

        public bool ChunksInOffsetOrder => true;

        public DiskInfo Describe() => disk.Describe();

        public IAsyncEnumerable<DiskChunk> ReadChunksAsync(CancellationToken cancellationToken = default)
        {
            if (Interlocked.Exchange(ref _enumerated, 1) != 0)
            {
                throw new InvalidOperationException($"{Name}: the chunks of a sequential disk can be read only once.");
            }

            return ReadAsync(cancellationToken);
        }

        public ValueTask DisposeAsync() => ValueTask.CompletedTask;

        private async IAsyncEnumerable<DiskChunk> ReadAsync([EnumeratorCancellation] CancellationToken cancellationToken)
        {
            var buffer = ArrayPool<byte>.Shared.Rent(chunkSize);
            try
            {
                await foreach (var extent in disk.GetExtentsAsync(0, disk.Capacity, cancellationToken).ConfigureAwait(false))
                {
                    if (extent.Kind == DiskExtentKind.Zero)
                    {
                        yield return DiskChunk.FromZero(extent.Offset, extent.Length);
                        continue;
                    }

                    if (extent.Kind != DiskExtentKind.Data)
                    {
                        continue;
                    }

                    for (var offset = extent.Offset; offset < extent.End;)
                    {
                        var length = (int)Math.Min(chunkSize, extent.End - offset);
                        var memory = buffer.AsMemory(0, length);
                        await disk.ReadAsync(offset, memory, cancellationToken).ConfigureAwait(false);
                        yield return DiskChunk.FromData(offset, memory);
                        offset += length;
                    }
                }
            }
            finally
            {
                ArrayPool<byte>.Shared.Return(buffer);
            }
        }
    }
}
