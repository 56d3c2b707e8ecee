using System.Buffers.Binary;
using System.Runtime.CompilerServices;

namespace Whitesky.DiskFormats.Vmdk;

/// <summary>
/// An seSparse extent (vSphere snapshots): a constant header, a volatile header, a grain directory of 64-bit
/// entries pointing into a grain-table region, and grain-table entries whose top nibble is the grain's state.
/// A journal that still needs replay is refused.
/// </summary>
internal sealed class VmdkSeSparseExtent : IVmdkExtent
{
    private const ulong ConstMagic = 0x00000000CAFEBABE;
    private const ulong VolatileMagic = 0x00000000CAFECAFE;
    private const ulong SupportedVersion = 0x0000000200000001;
    private const ulong DirectoryEntryAllocated = 0x1000000000000000;
    private const ulong StateMask = 0xF000000000000000;
    private const ulong StateUnallocated = 0x0000000000000000;
    private const ulong StateUnmapped = 0x1000000000000000;
    private const ulong StateZero = 0x2000000000000000;
    private const ulong StateAllocated = 0x3000000000000000;

    private readonly IRandomAccessSource _source;
    private readonly ulong[] _directory;
    private readonly long _grainBytes;
    private readonly long _grainSectors;
    private readonly int _tableEntries;
    private readonly long _tablesOffset;
    private readonly long _tablesEnd;
    private readonly long _grainsOffset;
    private readonly long _directoryOffset;
    private readonly TableCache<ulong> _tableCache = new(VmdkConstants.GrainTableCacheCapacity);

    private VmdkSeSparseExtent(IRandomAccessSource source, long length, long grainSectors, int tableEntries, long tablesOffset, long tablesEnd, long grainsOffset, long directoryOffset, ulong[] directory)
    {
        _directoryOffset = directoryOffset;
        _source = source;
        Length = length;
        _grainSectors = grainSectors;
        _grainBytes = grainSectors * VmdkConstants.SectorSize;
        _tableEntries = tableEntries;
        _tablesOffset = tablesOffset;
        _tablesEnd = tablesEnd;
        _grainsOffset = grainsOffset;
        _directory = directory;
    }

    public long Length { get; }

    public long FileSize => _source.Length;

    public int GrainBytes => (int)_grainBytes;

    private string Name => _source.Name;

    public static async Task<VmdkSeSparseExtent> OpenAsync(IRandomAccessSource source, long length, CancellationToken cancellationToken)
    {
        var name = source.Name;
        var h = new byte[VmdkConstants.HeaderSize];
        if (await source.ReadAsync(0, h, cancellationToken).ConfigureAwait(false) < h.Length)
        {
            throw new DiskFormatException(name, "seSparse header", 0, "the file is shorter than the header");
        }

        ulong U64(int at) => BinaryPrimitives.ReadUInt64LittleEndian(h.AsSpan(at));
        if (U64(0) != ConstMagic)
        {
            throw new DiskFormatException(name, "seSparse header", 0, "no seSparse magic");
        }

        if (U64(8) != SupportedVersion)
        {
            throw new DiskFormatException(name, "seSparse header", 8, $"version 0x{U64(8):x16} is not supported");
        }

        var capacity = U64(16);
        var grainSectors = U64(24);
        var tableSectors = U64(32);
        if (U64(40) != 0)
        {
            throw new DiskFormatException(name, "seSparse header", 40, $"flags 0x{U64(40):x16} are not supported");
        }

        if (grainSectors == 0 || grainSectors > VmdkConstants.MaxGrainSectors || (grainSectors & (grainSectors - 1)) != 0)
        {
            throw new DiskFormatException(name, "seSparse header", 24, $"grain size of {grainSectors} sectors is not a power of two up to {VmdkConstants.MaxGrainSectors}");
        }

        if (tableSectors == 0 || tableSectors * VmdkConstants.SectorSize / 8 > VmdkConstants.MaxGrainTableEntries)
        {
            throw new DiskFormatException(name, "seSparse header", 32, $"grain tables of {tableSectors} sectors are outside 1..{VmdkConstants.MaxGrainTableEntries * 8 / VmdkConstants.SectorSize}");
        }

        if (capacity > (ulong)(long.MaxValue / VmdkConstants.SectorSize) || length > (long)capacity * VmdkConstants.SectorSize)
        {
            throw new DiskFormatException(name, "seSparse header", 16, $"capacity of {capacity} sectors is too large or smaller than the descriptor's {length} bytes");
        }

        var fileSectors = (ulong)(source.Length / VmdkConstants.SectorSize);
        long Region(int at, string what)
        {
            var offset = U64(at);
            var size = U64(at + 8);
            if (offset == 0 || offset > fileSectors || size > fileSectors - offset)
            {
                throw new DiskFormatException(name, "seSparse header", at, $"the {what} ({size} sectors at sector {offset}) is not inside the file of {source.Length} bytes");
            }

            return (long)offset * VmdkConstants.SectorSize;
        }

        var volatileOffset = Region(80, "volatile header");
        var directoryOffset = Region(128, "grain directory");
        var tablesOffset = Region(144, "grain table region");
        var tablesEnd = tablesOffset + (long)U64(152) * VmdkConstants.SectorSize;
        var grainsOffset = Region(192, "grain region");

        var v = new byte[VmdkConstants.SectorSize];
        await source.ReadAsync(volatileOffset, v, cancellationToken).ConfigureAwait(false);
        if (BinaryPrimitives.ReadUInt64LittleEndian(v) != VolatileMagic)
        {
            throw new DiskFormatException(name, "seSparse volatile header", volatileOffset, "no volatile header magic");
        }

        if (BinaryPrimitives.ReadUInt64LittleEndian(v.AsSpan(24)) != 0)
        {
            throw new DiskFormatException(name, "seSparse volatile header", volatileOffset + 24,
                "the journal needs replaying (the snapshot was not closed cleanly); open and close it in vSphere, or consolidate it, first");
        }

        var tableEntries = (int)(tableSectors * VmdkConstants.SectorSize / 8);
        var grainBytes = (long)grainSectors * VmdkConstants.SectorSize;
        var capacityBytes = (long)capacity * VmdkConstants.SectorSize;
        var grains = capacityBytes / grainBytes + (capacityBytes % grainBytes == 0 ? 0 : 1);
        var needed = grains / tableEntries + (grains % tableEntries == 0 ? 0 : 1);
        var directorySize = (long)U64(136) * VmdkConstants.SectorSize / 8;
        if (needed > directorySize || needed > VmdkConstants.MaxGrainDirectoryEntries)
        {
            throw new DiskFormatException(name, "grain directory", directoryOffset, $"{needed} entries are needed for the capacity, but it holds {directorySize} (or more than this reader allows)");
        }

        var bytes = new byte[needed * 8];
        await source.ReadAsync(directoryOffset, bytes, cancellationToken).ConfigureAwait(false);
        var directory = new ulong[needed];
        for (var i = 0; i < directory.Length; i++)
        {
            directory[i] = BinaryPrimitives.ReadUInt64LittleEndian(bytes.AsSpan(i * 8));
        }

        return new VmdkSeSparseExtent(source, length, (long)grainSectors, tableEntries, tablesOffset, tablesEnd, grainsOffset, directoryOffset, directory);
    }

    public async ValueTask ReadAsync(long offset, Memory<byte> buffer, VmdkUnallocatedReader unallocated, CancellationToken cancellationToken)
    {
        var position = offset;
        var end = offset + buffer.Length;
        while (position < end)
        {
            var grain = position / _grainBytes;
            var inGrain = position % _grainBytes;
            var count = Math.Min(_grainBytes - inGrain, end - position);
            var (kind, fileOffset) = await LookupAsync(grain, cancellationToken).ConfigureAwait(false);

            // Extend over following grains of the same kind (and, for data, contiguous in the file).
            while (position + count < end)
            {
                var (nextKind, nextOffset) = await LookupAsync(grain + 1, cancellationToken).ConfigureAwait(false);
                if (nextKind != kind || (kind == DiskExtentKind.Data && nextOffset != fileOffset + inGrain + count))
                {
                    break;
                }

                grain++;
                count += Math.Min(_grainBytes, end - position - count);
            }

            var target = buffer.Slice((int)(position - offset), (int)count);
            switch (kind)
            {
                case DiskExtentKind.Unallocated:
                    await unallocated(position, target, cancellationToken).ConfigureAwait(false);
                    break;
                case DiskExtentKind.Zero:
                    target.Span.Clear();
                    break;
                default:
                    var at = fileOffset + inGrain;
                    if (at > _source.Length - count || await _source.ReadAsync(at, target, cancellationToken).ConfigureAwait(false) < count)
                    {
                        throw new DiskFormatException(Name, "grain", at, $"the grain data lies past the end of the file ({_source.Length} bytes)");
                    }

                    break;
            }

            position += count;
        }
    }

    public async IAsyncEnumerable<DiskExtent> GetExtentsAsync(long offset, long length, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        var end = offset + length;
        var position = offset;
        DiskExtentKind? kind = null;
        var start = offset;
        while (position < end)
        {
            cancellationToken.ThrowIfCancellationRequested();
            var grain = position / _grainBytes;
            var (here, _) = await LookupAsync(grain, cancellationToken).ConfigureAwait(false);
            if (kind != here)
            {
                if (kind is { } previous)
                {
                    yield return new DiskExtent(start, position - start, previous);
                }

                kind = here;
                start = position;
            }

            position = Math.Min(end, (grain + 1) * _grainBytes);
        }

        if (kind is { } last)
        {
            yield return new DiskExtent(start, end - start, last);
        }
    }

    public ValueTask DisposeAsync() => _source.DisposeAsync();

    private async ValueTask<(DiskExtentKind Kind, long FileOffset)> LookupAsync(long grain, CancellationToken cancellationToken)
    {
        var index = grain / _tableEntries;
        if (index >= _directory.Length)
        {
            return (DiskExtentKind.Unallocated, 0);
        }

        var table = await GetTableAsync(index, cancellationToken).ConfigureAwait(false);
        if (table is null)
        {
            return (DiskExtentKind.Unallocated, 0);
        }

        var entry = table[grain % _tableEntries];
        switch (entry & StateMask)
        {
            case StateUnallocated when entry == 0:
                return (DiskExtentKind.Unallocated, 0);
            case StateUnmapped or StateZero:
                return (DiskExtentKind.Zero, 0);
            case StateAllocated:
                // The grain number is stored with its low 12 bits in bits 48..59 and the rest in bits 0..47.
                var number = (long)(((entry & 0x0FFF000000000000) >> 48) | ((entry & 0x0000FFFFFFFFFFFF) << 12));
                if (number > (_source.Length - _grainsOffset) / _grainBytes)
                {
                    throw new DiskFormatException(Name, "grain table entry", EntryOffset(index, grain), $"grain {grain} is grain number {number} of the grain region, past the end of the file");
                }

                return (DiskExtentKind.Data, _grainsOffset + number * _grainBytes);
            default:
                throw new DiskFormatException(Name, "grain table entry", EntryOffset(index, grain), $"grain {grain} has the unknown entry 0x{entry:x16}");
        }
    }

    private long EntryOffset(long index, long grain) =>
        _tablesOffset + (long)(_directory[index] & 0xFFFFFFFF) * _tableEntries * 8L + grain % _tableEntries * 8;

    private async ValueTask<ulong[]?> GetTableAsync(long index, CancellationToken cancellationToken)
    {
        var entry = _directory[index];
        if (entry == 0)
        {
            return null;
        }

        if ((entry & 0xFFFFFFFF00000000) != DirectoryEntryAllocated)
        {
            throw new DiskFormatException(Name, "grain directory entry", _directoryOffset + index * 8, $"entry {index} is 0x{entry:x16}, not an allocated grain table");
        }

        if (_tableCache.TryGet(index, out var cached))
        {
            return cached;
        }

        var size = _tableEntries * 8L;
        var offset = _tablesOffset + (long)(entry & 0xFFFFFFFF) * size;
        if (offset + size > _tablesEnd)
        {
            throw new DiskFormatException(Name, "grain table", offset, $"grain table {index} lies outside the grain table region");
        }

        var bytes = new byte[size];
        if (await _source.ReadAsync(offset, bytes, cancellationToken).ConfigureAwait(false) < bytes.Length)
        {
            throw new DiskFormatException(Name, "grain table", offset, "the file ended inside it");
        }

        var table = new ulong[_tableEntries];
        for (var i = 0; i < table.Length; i++)
        {
            table[i] = BinaryPrimitives.ReadUInt64LittleEndian(bytes.AsSpan(i * 8));
        }

        _tableCache.Add(index, table);

        return table;
    }
}
