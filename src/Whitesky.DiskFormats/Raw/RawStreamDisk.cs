using System.Buffers;
using System.Runtime.CompilerServices;
using Whitesky.DiskFormats.Containers;

namespace Whitesky.DiskFormats.Raw;

/// <summary>
/// A raw disk read forward from a stream: every byte is data (all-zero blocks included; the consumer detects them),
/// or, for a GNU sparse tar entry, only the runs of its sparse map, the holes between them left unallocated.
/// </summary>
internal sealed class RawStreamDisk(PeekStream stream, string name, long capacity, IReadOnlyList<TarSparseRun>? sparseMap) : StreamedDisk(stream, name, capacity)
{
    public const int ChunkSize = 1024 * 1024;

    public override DiskInfo Describe() => new()
    {
        Format = "raw",
        Subformat = sparseMap is null ? null : "tar-sparse",
        Name = Name,
        VirtualSize = Capacity,
        AllocatedBytes = sparseMap?.Sum(r => r.Length),
    };

    protected override async IAsyncEnumerable<DiskChunk> ReadAsync([EnumeratorCancellation] CancellationToken cancellationToken)
    {
        IReadOnlyList<TarSparseRun> runs = sparseMap ?? [new TarSparseRun(0, Capacity)];
        var buffer = ArrayPool<byte>.Shared.Rent((int)Math.Min(ChunkSize, Math.Max(Capacity, 1)));
        try
        {
            foreach (var run in runs)
            {
                for (var offset = run.Offset; offset < run.End;)
                {
                    var length = (int)Math.Min(buffer.Length, run.End - offset);
                    var memory = buffer.AsMemory(0, length);
                    if (await Stream.ReadFullAsync(memory, cancellationToken).ConfigureAwait(false) < length)
                    {
                        throw new DiskFormatException(Name, "raw data", offset, $"the stream ends before the disk's {Capacity} bytes");
                    }

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
