using System.Buffers;
using System.Buffers.Binary;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace Whitesky.DiskFormats.Vmdk;

/// <summary>
/// A hosted sparse extent (<c>KDMV</c>): grain directory → grain tables → grains, optionally deflate-compressed
/// grains with markers (streamOptimized). Every offset it reads is checked against the file's length.
/// </summary>
internal sealed class VmdkSparseExtent : IVmdkExtent
{
    private readonly IRandomAccessSource _source;
    private readonly bool _ownsSource;
    private readonly uint[] _directory;
    private readonly long _grainBytes;
    private readonly uint _tableEntries;
    private readonly TableCache<uint> _tables = new(VmdkConstants.GrainTableCacheCapacity);

    private VmdkSparseExtent(IRandomAccessSource source, bool ownsSource, VmdkSparseHeader header, long length, uint[] directory)
    {
        _source = source;
        _ownsSource = ownsSource;
        Header = header;
        Length = length;
        _directory = directory;
        _grainBytes = (long)header.GrainSectors * VmdkConstants.SectorSize;
        _tableEntries = header.GrainTableEntries;
    }

    public VmdkSparseHeader Header { get; }

    public long Length { get; }

    public long FileSize => _source.Length;

    public int GrainBytes => (int)_grainBytes;

    private string Name => _source.Name;

    /// <summary>
    /// Reads the header at the start of <paramref name="source"/>; when it says the grain directory is at the end
    /// (VMware's streamOptimized), the header that counts is the footer's, 1024 bytes before the end of the file.
    /// </summary>
    public static async Task<(VmdkSparseHeader Header, bool Footer)> ReadHeaderAsync(IRandomAccessSource source, CancellationToken cancellationToken)
    {
        var buffer = new byte[VmdkConstants.HeaderSize];
        var read = await source.ReadAsync(0, buffer, cancellationToken).ConfigureAwait(false);
        if (read < buffer.Length)
        {
            throw new DiskFormatException(source.Name, "sparse extent header", 0, $"the file holds {source.Length} bytes, less than a header");
        }

        var header = VmdkSparseHeader.Parse(buffer, source.Name, 0);
        if (header.GrainDirectoryOffset != VmdkConstants.GrainDirectoryAtEnd)
        {
            return (header, false);
        }

        // Layout at the end: footer marker, footer (a second header), end-of-stream marker; one sector each.
        var footerOffset = source.Length - 2 * VmdkConstants.SectorSize;
        if (footerOffset < VmdkConstants.SectorSize * 2L)
        {
            throw new DiskFormatException(source.Name, "footer", footerOffset, "the header places the grain directory in a footer, but the file is too short to have one");
        }

        var marker = new byte[VmdkConstants.SectorSize];
        if (await source.ReadAsync(footerOffset - VmdkConstants.SectorSize, marker, cancellationToken).ConfigureAwait(false) < marker.Length ||
            BinaryPrimitives.ReadUInt32LittleEndian(marker.AsSpan(8)) != 0 ||
            BinaryPrimitives.ReadUInt32LittleEndian(marker.AsSpan(12)) != VmdkConstants.MarkerFooter)
        {
            throw new DiskFormatException(source.Name, "footer marker", footerOffset - VmdkConstants.SectorSize, "no footer marker where the footer must start (is the stream truncated?)");
        }

        if (await source.ReadAsync(footerOffset, buffer, cancellationToken).ConfigureAwait(false) < buffer.Length)
        {
            throw new DiskFormatException(source.Name, "footer", footerOffset, "the footer is cut off");
        }

        var footer = VmdkSparseHeader.Parse(buffer, source.Name, footerOffset);
        if (footer.GrainDirectoryOffset == VmdkConstants.GrainDirectoryAtEnd)
        {
            throw new DiskFormatException(source.Name, "footer", footerOffset + 56, "the footer does not say where the grain directory is either");
        }

        return (footer, true);
    }

    /// <summary>Opens the extent of <paramref name="length"/> bytes and loads its grain directory.</summary>
    public static async Task<VmdkSparseExtent> OpenAsync(IRandomAccessSource source, bool ownsSource, VmdkSparseHeader header, long length, CancellationToken cancellationToken)
    {
        var name = source.Name;
        var fileLength = source.Length;
        var capacity = (long)header.CapacitySectors * VmdkConstants.SectorSize;
        if (length > capacity)
        {
            throw new DiskFormatException(name, "sparse extent header", 12, $"the descriptor gives the extent {length} bytes but its header only {capacity}");
        }

        var grainBytes = (long)header.GrainSectors * VmdkConstants.SectorSize;
        var grains = capacity / grainBytes + (capacity % grainBytes == 0 ? 0 : 1);
        var entries = grains / header.GrainTableEntries + (grains % header.GrainTableEntries == 0 ? 0 : 1);
        var gdOffset = header.GrainDirectoryOffset;
        if (gdOffset == 0)
        {
            throw new DiskFormatException(name, "grain directory", 0, "its offset points into the header");
        }

        if (entries > VmdkConstants.MaxGrainDirectoryEntries)
        {
            throw new DiskFormatException(name, "sparse extent header", 12,
                $"a capacity of {capacity} bytes needs {entries} grain tables, more than the {VmdkConstants.MaxGrainDirectoryEntries} this reader allows");
        }

        if (gdOffset > (ulong)(fileLength / VmdkConstants.SectorSize) || entries > (fileLength - (long)gdOffset * VmdkConstants.SectorSize) / 4)
        {
            throw new DiskFormatException(name, "grain directory", gdOffset > long.MaxValue / VmdkConstants.SectorSize ? -1 : (long)gdOffset * VmdkConstants.SectorSize,
                $"{entries} entries (for a capacity of {capacity} bytes) do not fit in the file of {fileLength} bytes");
        }

        var bytes = new byte[entries * 4];
        var directoryOffset = (long)gdOffset * VmdkConstants.SectorSize;
        if (await source.ReadAsync(directoryOffset, bytes, cancellationToken).ConfigureAwait(false) < bytes.Length)
        {
            throw new DiskFormatException(name, "grain directory", directoryOffset, "the file ended inside it");
        }

        var directory = new uint[entries];
        for (var i = 0; i < directory.Length; i++)
        {
            directory[i] = BinaryPrimitives.ReadUInt32LittleEndian(bytes.AsSpan(i * 4));
        }

        return new VmdkSparseExtent(source, ownsSource, header, length, directory);
    }

    public async ValueTask ReadAsync(long offset, Memory<byte> buffer, VmdkUnallocatedReader unallocated, CancellationToken cancellationToken)
    {
        List<CompressedGrain>? compressed = null;
        var run = new Run(RunKind.None, 0, 0, 0);
        var position = offset;
        var end = offset + buffer.Length;
        while (position < end)
        {
            var grain = position / _grainBytes;
            var inGrain = position % _grainBytes;
            var count = Math.Min(_grainBytes - inGrain, end - position);
            var entry = await GetEntryAsync(grain, cancellationToken).ConfigureAwait(false);
            Run next;
            if (entry == VmdkConstants.GrainUnallocated)
            {
                next = new Run(RunKind.Unallocated, position, 0, count);
            }
            else if (entry == VmdkConstants.GrainZero && Header.ZeroedGrainEntries)
            {
                next = new Run(RunKind.Zero, position, 0, count);
            }
            else
            {
                CheckGrainEntry(grain, entry);
                if (Header.Compressed)
                {
                    (compressed ??= []).Add(new CompressedGrain(grain, (long)entry * VmdkConstants.SectorSize, (int)inGrain, buffer.Slice((int)(position - offset), (int)count)));
                    next = new Run(RunKind.None, position, 0, count);
                }
                else
                {
                    next = new Run(RunKind.Data, position, (long)entry * VmdkConstants.SectorSize + inGrain, count);
                }
            }

            if (next.Kind != RunKind.None && next.Kind == run.Kind && run.Start + run.Length == position &&
                (run.Kind != RunKind.Data || run.FileOffset + run.Length == next.FileOffset))
            {
                run = run with { Length = run.Length + count };
            }
            else
            {
                await FlushAsync(run, offset, buffer, unallocated, cancellationToken).ConfigureAwait(false);
                run = next;
            }

            position += count;
        }

        await FlushAsync(run, offset, buffer, unallocated, cancellationToken).ConfigureAwait(false);

        if (compressed is null)
        {
            return;
        }

        if (compressed.Count == 1)
        {
            await InflateAsync(compressed[0], cancellationToken).ConfigureAwait(false);
            return;
        }

        // Inflating is CPU-bound: a large read spreads its grains over the cores.
        await Parallel.ForEachAsync(
            compressed,
            new ParallelOptions { MaxDegreeOfParallelism = Environment.ProcessorCount, CancellationToken = cancellationToken },
            (grain, token) => InflateAsync(grain, token)).ConfigureAwait(false);
    }

    public async IAsyncEnumerable<DiskExtent> GetExtentsAsync(long offset, long length, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        var end = offset + length;
        var position = offset;
        DiskExtentKind? kind = null;
        var start = offset;
        var tableBytes = _grainBytes * _tableEntries;
        while (position < end)
        {
            cancellationToken.ThrowIfCancellationRequested();
            var grain = position / _grainBytes;
            var table = await GetTableAsync(grain / _tableEntries, cancellationToken).ConfigureAwait(false);
            DiskExtentKind here;
            long next;
            if (table is null)
            {
                here = DiskExtentKind.Unallocated;
                next = Math.Min(end, (grain / _tableEntries + 1) * tableBytes);
            }
            else
            {
                var entry = table[grain % _tableEntries];
                here = entry == VmdkConstants.GrainUnallocated ? DiskExtentKind.Unallocated
                    : entry == VmdkConstants.GrainZero && Header.ZeroedGrainEntries ? DiskExtentKind.Zero
                    : DiskExtentKind.Data;
                next = Math.Min(end, (grain + 1) * _grainBytes);
            }

            if (kind != here)
            {
                if (kind is { } previous)
                {
                    yield return new DiskExtent(start, position - start, previous);
                }

                kind = here;
                start = position;
            }

            position = next;
        }

        if (kind is { } last)
        {
            yield return new DiskExtent(start, end - start, last);
        }
    }

    public ValueTask DisposeAsync() => _ownsSource ? _source.DisposeAsync() : ValueTask.CompletedTask;

    private async ValueTask FlushAsync(Run run, long bufferOffset, Memory<byte> buffer, VmdkUnallocatedReader unallocated, CancellationToken cancellationToken)
    {
        if (run.Kind == RunKind.None || run.Length == 0)
        {
            return;
        }

        var target = buffer.Slice((int)(run.Start - bufferOffset), (int)run.Length);
        switch (run.Kind)
        {
            case RunKind.Unallocated:
                await unallocated(run.Start, target, cancellationToken).ConfigureAwait(false);
                break;
            case RunKind.Zero:
                target.Span.Clear();
                break;
            default:
                if (run.FileOffset > _source.Length - run.Length)
                {
                    throw new DiskFormatException(Name, "grain", run.FileOffset, $"the grain data lies past the end of the file ({_source.Length} bytes)");
                }

                var read = await _source.ReadAsync(run.FileOffset, target, cancellationToken).ConfigureAwait(false);
                if (read < target.Length)
                {
                    throw new DiskFormatException(Name, "grain", run.FileOffset + read, "the file ended inside the grain (it shrank while open?)");
                }

                break;
        }
    }

    private void CheckGrainEntry(long grain, uint entry)
    {
        var overhead = Header.OverheadSectors;
        if (entry < overhead && overhead <= (ulong)(_source.Length / VmdkConstants.SectorSize))
        {
            throw new DiskFormatException(Name, "grain table entry", EntryOffset(grain),
                $"grain {grain} is at sector {entry}, inside the metadata (the first {overhead} sectors)");
        }

        if ((long)entry * VmdkConstants.SectorSize >= _source.Length)
        {
            throw new DiskFormatException(Name, "grain table entry", EntryOffset(grain),
                $"grain {grain} is at sector {entry}, past the end of the file ({_source.Length} bytes)");
        }
    }

    /// <summary>Where in the file the grain table entry of <paramref name="grain"/> is.</summary>
    private long EntryOffset(long grain) =>
        (long)_directory[grain / _tableEntries] * VmdkConstants.SectorSize + grain % _tableEntries * 4;

    private async ValueTask InflateAsync(CompressedGrain grain, CancellationToken cancellationToken)
    {
        var maxCompressed = (int)(_grainBytes + _grainBytes / 8 + 1024);
        var buffer = ArrayPool<byte>.Shared.Rent(VmdkConstants.GrainMarkerHeaderSize + maxCompressed);
        byte[]? whole = null;
        try
        {
            var first = (int)Math.Min(VmdkConstants.SectorSize, _source.Length - grain.FileOffset);
            var read = await _source.ReadAsync(grain.FileOffset, buffer.AsMemory(0, first), cancellationToken).ConfigureAwait(false);
            if (read < VmdkConstants.GrainMarkerHeaderSize)
            {
                throw new DiskFormatException(Name, "compressed grain", grain.FileOffset, "the file ended inside the grain's header");
            }

            var lba = BinaryPrimitives.ReadUInt64LittleEndian(buffer);
            var size = BinaryPrimitives.ReadUInt32LittleEndian(buffer.AsSpan(8));
            if (lba != (ulong)grain.Index * Header.GrainSectors)
            {
                throw new DiskFormatException(Name, "compressed grain", grain.FileOffset, $"its header says sector {lba}, but the grain table puts grain {grain.Index} (sector {grain.Index * (long)Header.GrainSectors}) here");
            }

            if (size == 0 || size > maxCompressed || grain.FileOffset + VmdkConstants.GrainMarkerHeaderSize + size > _source.Length)
            {
                throw new DiskFormatException(Name, "compressed grain", grain.FileOffset, $"compressed size {size} is empty, larger than a grain allows, or runs past the end of the file");
            }

            var total = VmdkConstants.GrainMarkerHeaderSize + (int)size;
            if (total > read)
            {
                var rest = await _source.ReadAsync(grain.FileOffset + read, buffer.AsMemory(read, total - read), cancellationToken).ConfigureAwait(false);
                if (rest < total - read)
                {
                    throw new DiskFormatException(Name, "compressed grain", grain.FileOffset, "the file ended inside the grain");
                }
            }

            var fullGrain = grain.InGrain == 0 && grain.Target.Length == _grainBytes;
            Memory<byte> output;
            if (fullGrain)
            {
                output = grain.Target;
            }
            else
            {
                whole = ArrayPool<byte>.Shared.Rent((int)_grainBytes);
                output = whole.AsMemory(0, (int)_grainBytes);
            }

            var produced = VmdkGrains.Inflate(Name, buffer.AsMemory(VmdkConstants.GrainMarkerHeaderSize, (int)size), output.Span, grain.FileOffset);
            var expected = Math.Min(_grainBytes, Length - grain.Index * _grainBytes);
            if (produced < expected)
            {
                throw new DiskFormatException(Name, "compressed grain", grain.FileOffset, $"it inflates to {produced} bytes, less than the {expected} of the grain");
            }

            if (!fullGrain)
            {
                output.Span.Slice(grain.InGrain, grain.Target.Length).CopyTo(grain.Target.Span);
            }
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
            if (whole is not null)
            {
                ArrayPool<byte>.Shared.Return(whole);
            }
        }
    }

    private async ValueTask<uint> GetEntryAsync(long grain, CancellationToken cancellationToken)
    {
        var table = await GetTableAsync(grain / _tableEntries, cancellationToken).ConfigureAwait(false);
        return table is null ? VmdkConstants.GrainUnallocated : table[grain % _tableEntries];
    }

    private async ValueTask<uint[]?> GetTableAsync(long index, CancellationToken cancellationToken)
    {
        if (index >= _directory.Length || _directory[index] == 0)
        {
            return null;
        }

        if (_tables.TryGet(index, out var cached))
        {
            return cached;
        }

        var sector = _directory[index];
        var offset = (long)sector * VmdkConstants.SectorSize;
        var size = _tableEntries * 4L;
        if (offset > _source.Length - size)
        {
            throw new DiskFormatException(Name, "grain table", offset, $"grain table {index} lies past the end of the file ({_source.Length} bytes)");
        }

        var bytes = new byte[size];
        if (await _source.ReadAsync(offset, bytes, cancellationToken).ConfigureAwait(false) < bytes.Length)
        {
            throw new DiskFormatException(Name, "grain table", offset, "the file ended inside it");
        }

        var table = MemoryMarshal.Cast<byte, uint>(bytes).ToArray();
        if (!BitConverter.IsLittleEndian)
        {
            BinaryPrimitives.ReverseEndianness(table, table);
        }

        _tables.Add(index, table);
        return table;
    }

    private enum RunKind
    {
        None,
        Unallocated,
        Zero,
        Data,
    }

    private readonly record struct Run(RunKind Kind, long Start, long FileOffset, long Length);

    private readonly record struct CompressedGrain(long Index, long FileOffset, int InGrain, Memory<byte> Target);
}
