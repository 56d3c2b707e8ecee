using System.Buffers;
using System.Buffers.Binary;
using System.Globalization;
using System.Runtime.CompilerServices;
using Whitesky.DiskFormats.Containers;

namespace Whitesky.DiskFormats.Vmdk;

/// <summary>
/// A streamOptimized VMDK decoded in one forward pass: the header gives the capacity, then compressed grains
/// arrive with their LBA (in increasing order) between grain table, grain directory and footer markers, up to the
/// end-of-stream marker. The tables are skipped: a grain's marker says where it goes.
/// </summary>
internal sealed class VmdkStreamDisk : StreamedDisk
{
    private readonly VmdkSparseHeader _header;
    private readonly int _grainBytes;
    private readonly long _maxStreamBytes;

    private VmdkStreamDisk(PeekStream stream, string name, VmdkSparseHeader header, long streamStart)
        : base(stream, name, (long)header.CapacitySectors * VmdkConstants.SectorSize)
    {
        _header = header;
        _grainBytes = (int)header.GrainSectors * VmdkConstants.SectorSize;
        StreamStart = streamStart;

        // A stream of a disk this size needs at most: every grain once (compressed, plus its marker and padding),
        // every grain table and the directory twice, and the header and descriptor. More is a decompression bomb.
        var grains = (Capacity + _grainBytes - 1) / _grainBytes;
        var tables = (grains + header.GrainTableEntries - 1) / header.GrainTableEntries;
        var tableBytes = RoundUp(header.GrainTableEntries * 4L) + VmdkConstants.SectorSize;
        _maxStreamBytes = checked(grains * (MaxCompressedBytes + VmdkConstants.SectorSize)
            + 2 * tables * tableBytes + 2 * (RoundUp(tables * 4) + VmdkConstants.SectorSize)
            + (long)header.OverheadSectors * VmdkConstants.SectorSize + (4L << 20));
    }

    /// <summary>How much decoded data a batch of grains holds (at most <see cref="MaxBatchGrains"/> grains).</summary>
    private const int BatchBytes = 4 * 1024 * 1024;
    private const int MaxBatchGrains = 64;

    /// <summary>1 PiB: more than any disk, and small enough that the stream's length bound cannot overflow.</summary>
    private const long MaxCapacity = 1L << 50;

    /// <summary>Where the VMDK started in the underlying stream (its offsets are relative to it).</summary>
    private long StreamStart { get; }

    /// <summary>Deflate of incompressible data grows by a few bytes per 16 KiB block; allow a generous margin.</summary>
    private int MaxCompressedBytes => _grainBytes + _grainBytes / 8 + 1024;

    /// <summary>Reads the header (and skips the descriptor) of a streamOptimized VMDK at the start of <paramref name="stream"/>.</summary>
    public static async Task<VmdkStreamDisk> OpenAsync(PeekStream stream, string name, CancellationToken cancellationToken)
    {
        var start = stream.Consumed;
        var block = new byte[VmdkConstants.HeaderSize];
        await stream.ReadExactAsync(block, "VMDK sparse header", cancellationToken).ConfigureAwait(false);
        var header = VmdkSparseHeader.Parse(block, name, 0);
        if (!header.Markers || !header.Compressed)
        {
            throw new DiskFormatException(name, "sparse extent header", 8,
                "only a streamOptimized VMDK (compressed grains with markers) can be read from a stream; open a monolithicSparse file with DiskImage.OpenAsync");
        }

        if (header.CapacitySectors > MaxCapacity / VmdkConstants.SectorSize)
        {
            throw new DiskFormatException(name, "sparse extent header", 12, $"a capacity of {header.CapacitySectors} sectors is more than the {MaxCapacity} bytes a stream may declare");
        }

        if (header.CapacitySectors == 0)
        {
            throw new DiskFormatException(name, "sparse extent header", 12, "the header declares no capacity (the real header would be in the footer, which a stream reaches last)");
        }

        return new VmdkStreamDisk(stream, name, header, start);
    }

    public override DiskInfo Describe() => new()
    {
        Format = "vmdk",
        Subformat = "streamOptimized",
        Name = Name,
        VirtualSize = Capacity,
        ClusterSize = _grainBytes,
        Compression = "deflate",
        Features = ["markers"],
    };

    protected override async IAsyncEnumerable<DiskChunk> ReadAsync([EnumeratorCancellation] CancellationToken cancellationToken)
    {
        // The descriptor and padding up to the first marker; the markers start at the overhead.
        var overhead = (long)_header.OverheadSectors * VmdkConstants.SectorSize;
        var position = Stream.Consumed - StreamStart;
        if (overhead > position)
        {
            if (overhead > VmdkConstants.MaxDescriptorBytes + (64L << 20))
            {
                throw new DiskFormatException(Name, "sparse extent header", 64, $"an overhead of {overhead} bytes is more than a streamOptimized VMDK needs");
            }

            await Stream.SkipAsync(overhead - position, "VMDK descriptor", cancellationToken).ConfigureAwait(false);
        }

        // Grains are read into a batch and inflated on every core at once; contiguous grains leave as one chunk.
        var batchGrains = Math.Clamp(BatchBytes / _grainBytes, 1, MaxBatchGrains);
        var slot = RoundUp(VmdkConstants.GrainMarkerHeaderSize + MaxCompressedBytes);
        var compressed = ArrayPool<byte>.Shared.Rent(slot * batchGrains);
        var output = ArrayPool<byte>.Shared.Rent(_grainBytes * batchGrains);
        var grains = new BatchedGrain[batchGrains];
        var count = 0;
        try
        {
            long nextFree = 0;
            while (true)
            {
                var markerOffset = Stream.Consumed - StreamStart;
                if (markerOffset > _maxStreamBytes)
                {
                    throw new DiskFormatException(Name, "marker", markerOffset,
                        $"the stream is longer than a {Capacity}-byte disk can need ({_maxStreamBytes} bytes) without reaching its end-of-stream marker (a decompression bomb?)");
                }

                var marker = compressed.AsMemory(count * slot, slot);
                await ReadExactAsync(marker[..VmdkConstants.GrainMarkerHeaderSize], markerOffset, "marker", cancellationToken).ConfigureAwait(false);
                var value = BinaryPrimitives.ReadUInt64LittleEndian(marker.Span);
                var size = BinaryPrimitives.ReadUInt32LittleEndian(marker.Span[8..]);
                if (size == 0)
                {
                    await ReadExactAsync(marker[VmdkConstants.GrainMarkerHeaderSize..VmdkConstants.SectorSize], markerOffset, "marker", cancellationToken).ConfigureAwait(false);
                    var type = BinaryPrimitives.ReadUInt32LittleEndian(marker.Span[12..]);
                    if (type == VmdkConstants.MarkerEndOfStream)
                    {
                        foreach (var chunk in InflateBatch(compressed, slot, output, grains, count))
                        {
                            yield return chunk;
                        }

                        yield break;
                    }

                    if (type is not (VmdkConstants.MarkerGrainTable or VmdkConstants.MarkerGrainDirectory or VmdkConstants.MarkerFooter))
                    {
                        throw new DiskFormatException(Name, "marker", markerOffset, $"unknown marker type {type}");
                    }

                    if (value > (ulong)(_maxStreamBytes / VmdkConstants.SectorSize))
                    {
                        throw new DiskFormatException(Name, "marker", markerOffset, $"a metadata marker of {value} sectors is larger than the disk can need");
                    }

                    await Stream.SkipAsync((long)value * VmdkConstants.SectorSize, "VMDK metadata", cancellationToken).ConfigureAwait(false);
                    continue;
                }

                if (size > MaxCompressedBytes)
                {
                    throw new DiskFormatException(Name, "compressed grain", markerOffset, $"{size} compressed bytes is more than a grain of {_grainBytes} bytes can take");
                }

                var offset = (long)value * VmdkConstants.SectorSize;
                if (value >= _header.CapacitySectors || value % _header.GrainSectors != 0 || offset < nextFree)
                {
                    throw new DiskFormatException(Name, "compressed grain", markerOffset, string.Create(CultureInfo.InvariantCulture,
                        $"sector {value} is past the disk's end ({_header.CapacitySectors} sectors), not at the start of a grain, or before the end of the previous grain (byte {nextFree}): grains must arrive in order"));
                }

                var total = RoundUp(VmdkConstants.GrainMarkerHeaderSize + (int)size);
                await ReadExactAsync(marker[VmdkConstants.GrainMarkerHeaderSize..total], markerOffset, "compressed grain", cancellationToken).ConfigureAwait(false);
                nextFree = offset + _grainBytes;
                grains[count++] = new BatchedGrain(offset, (int)size, markerOffset);
                if (count == batchGrains)
                {
                    foreach (var chunk in InflateBatch(compressed, slot, output, grains, count))
                    {
                        yield return chunk;
                    }

                    count = 0;
                }
            }
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(compressed);
            ArrayPool<byte>.Shared.Return(output);
        }
    }

    /// <summary>Inflates the batched grains in parallel, then returns them as chunks, contiguous full grains merged.</summary>
    private List<DiskChunk> InflateBatch(byte[] compressed, int slot, byte[] output, BatchedGrain[] grains, int count)
    {
        var produced = new int[count];
        try
        {
            Parallel.For(0, count, new ParallelOptions { MaxDegreeOfParallelism = Environment.ProcessorCount }, i =>
                produced[i] = VmdkGrains.Inflate(Name, compressed.AsMemory(i * slot + VmdkConstants.GrainMarkerHeaderSize, grains[i].CompressedSize),
                    output.AsSpan(i * _grainBytes, _grainBytes), grains[i].MarkerOffset));
        }
        catch (AggregateException e) when (e.InnerExceptions.OfType<DiskFormatException>().FirstOrDefault() is { } first)
        {
            throw first;
        }

        var chunks = new List<DiskChunk>();
        for (var i = 0; i < count;)
        {
            var start = i;
            var length = (long)Math.Min(produced[i], Capacity - grains[i].Offset);
            while (i + 1 < count && produced[i] == _grainBytes && grains[i + 1].Offset == grains[i].Offset + _grainBytes)
            {
                i++;
                length += Math.Min(produced[i], Capacity - grains[i].Offset);
            }

            i++;
            if (length > 0)
            {
                chunks.Add(DiskChunk.FromData(grains[start].Offset, output.AsMemory(start * _grainBytes, (int)length)));
            }
        }

        return chunks;
    }

    private readonly record struct BatchedGrain(long Offset, int CompressedSize, long MarkerOffset);

    private async ValueTask ReadExactAsync(Memory<byte> buffer, long markerOffset, string structure, CancellationToken cancellationToken)
    {
        if (await Stream.ReadFullAsync(buffer, cancellationToken).ConfigureAwait(false) < buffer.Length)
        {
            throw new DiskFormatException(Name, structure, markerOffset, "the stream ends inside it, before the end-of-stream marker (truncated?)");
        }
    }

    private static long RoundUp(long bytes) => (bytes + VmdkConstants.SectorSize - 1) / VmdkConstants.SectorSize * VmdkConstants.SectorSize;

    private static int RoundUp(int bytes) => (bytes + VmdkConstants.SectorSize - 1) / VmdkConstants.SectorSize * VmdkConstants.SectorSize;
}
