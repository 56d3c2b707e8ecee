using System.Buffers;
using System.Runtime.CompilerServices;
using Whitesky.DiskFormats;

namespace Whitesky.Migrate.Copy;

/// <summary>
/// A raw disk read once from a stream (standard input): data chunks in offset order until the stream ends. The
/// stream's length is unknown up front, so the capacity is the target's; what the stream does not cover reads as zero.
/// </summary>
internal sealed class StandardInputDisk : ISequentialDisk
{
    private const int ChunkSize = 1 << 20;
    private readonly Stream _stream;
    private int _enumerated;

    public StandardInputDisk(Stream stream, long capacity)
    {
        _stream = stream;
        Capacity = capacity;
    }

    public string Name => "standard input";

    public long Capacity { get; }

    public int LogicalSectorSize => 512;

    public bool ChunksInOffsetOrder => true;

    public DiskInfo Describe() => new() { Format = "raw", Name = Name, VirtualSize = Capacity };

    public IAsyncEnumerable<DiskChunk> ReadChunksAsync(CancellationToken cancellationToken = default)
    {
        if (Interlocked.Exchange(ref _enumerated, 1) != 0)
        {
            throw new InvalidOperationException("Standard input can be read only once.");
        }

        return ReadAsync(cancellationToken);
    }

    public ValueTask DisposeAsync() => ValueTask.CompletedTask;

    private async IAsyncEnumerable<DiskChunk> ReadAsync([EnumeratorCancellation] CancellationToken cancellationToken)
    {
        var buffer = ArrayPool<byte>.Shared.Rent(ChunkSize);
        try
        {
            long offset = 0;
            while (true)
            {
                var filled = 0;
                while (filled < ChunkSize)
                {
                    var read = await _stream.ReadAsync(buffer.AsMemory(filled, ChunkSize - filled), cancellationToken);
                    if (read == 0)
                    {
                        break;
                    }

                    filled += read;
                }

                if (filled == 0)
                {
                    yield break;
                }

                if (filled > Capacity - offset)
                {
                    throw new DiskFormatException($"Standard input holds more than the target's {Capacity} bytes.");
                }

                yield return DiskChunk.FromData(offset, buffer.AsMemory(0, filled));
                offset += filled;
                if (filled < ChunkSize)
                {
                    yield break;
                }
            }
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }
}
