using System.Buffers.Binary;
using System.Globalization;
using System.Runtime.CompilerServices;

namespace Whitesky.DiskFormats.Vhdx;

/// <summary>
/// A VHDX image: the BAT maps each payload block to a place in the file, or says it is absent, zero, or (in a
/// differencing disk) partly present with a sector bitmap telling which sectors come from the parent.
/// </summary>
internal sealed class VhdxDisk : IVirtualDisk
{
    /// <summary>BAT entries are read and cached 8192 at a time (64 KiB); 256 such pages bound the cache at 16 MiB.</summary>
    private const int BatPageEntries = 8192;
    private const int CachedBatPages = 256;
    private const int CachedBitmaps = 4096;

    private readonly IRandomAccessSource _file;
    private readonly IRandomAccessSource _source;
    private readonly VhdxHeader _header;
    private readonly VhdxRegionTable _regions;
    private readonly VhdxMetadata _metadata;
    private readonly IVirtualDisk? _parent;
    private readonly TableCache<ulong> _bat = new(CachedBatPages);
    private readonly TableCache<byte> _bitmaps = new(CachedBitmaps);
    private readonly long _blockSize;
    private readonly long _chunkRatio;
    private readonly long _batEntries;
    private readonly int _bitmapBytesPerBlock;

    private VhdxDisk(IRandomAccessSource file, IRandomAccessSource source, VhdxHeader header, VhdxRegionTable regions, VhdxMetadata metadata, IVirtualDisk? parent)
    {
        _file = file;
        _source = source;
        _header = header;
        _regions = regions;
        _metadata = metadata;
        _parent = parent;
        _blockSize = metadata.BlockSize;
        _chunkRatio = ChunkRatio(metadata);
        _batEntries = RequiredBatEntries(metadata);
        _bitmapBytesPerBlock = (int)(_blockSize / metadata.LogicalSectorSize / 8);
    }

    private enum PieceKind
    {
        Data,
        Zero,
        Unallocated,
        Parent,
    }

    private readonly record struct Piece(PieceKind Kind, long Length, long Host);

    public bool OwnsSource { get; set; }

    public long Capacity => _metadata.VirtualDiskSize;

    public int LogicalSectorSize => _metadata.LogicalSectorSize;

    public IVirtualDisk? Parent => _parent;

    /// <summary>Changes whenever the disk's content changes; a child's parent_linkage names it.</summary>
    internal Guid DataWriteGuid => _header.DataWriteGuid;

    private string Name => _file.Name;

    public static async Task<VhdxDisk> OpenAsync(IRandomAccessSource file, DiskOpenContext context, CancellationToken cancellationToken)
    {
        var header = await VhdxHeader.ReadCurrentAsync(file, cancellationToken).ConfigureAwait(false);
        var source = await VhdxLogReplay.ApplyAsync(file, header, cancellationToken).ConfigureAwait(false);
        var regions = await VhdxRegionTable.ReadAsync(source, cancellationToken).ConfigureAwait(false);
        var metadata = await VhdxMetadata.ReadAsync(source, regions, cancellationToken).ConfigureAwait(false);
        var needed = RequiredBatEntries(metadata);
        if (regions.BatLength / 8 < needed)
        {
            throw new DiskFormatException(file.Name, "BAT", regions.BatOffset, Inv($"its {regions.BatLength} bytes hold fewer than the {needed} entries a disk of {metadata.VirtualDiskSize} bytes needs"));
        }

        var parent = metadata.HasParent ? await OpenParentAsync(file.Name, metadata, context, cancellationToken).ConfigureAwait(false) : null;
        return new VhdxDisk(file, source, header, regions, metadata, parent);
    }

    private static long ChunkRatio(VhdxMetadata metadata) => VhdxSpec.SectorsPerBitmapBlock * metadata.LogicalSectorSize / metadata.BlockSize;

    private static long RequiredBatEntries(VhdxMetadata metadata)
    {
        var chunkRatio = ChunkRatio(metadata);
        var dataBlocks = (metadata.VirtualDiskSize + metadata.BlockSize - 1) / metadata.BlockSize;
        if (metadata.HasParent)
        {
            return (dataBlocks + chunkRatio - 1) / chunkRatio * (chunkRatio + 1);
        }

        return dataBlocks + ((dataBlocks - 1) / chunkRatio);
    }

    /// <summary>Tries the locator's paths in the spec's order through the resolver; the parent must carry the linkage the child recorded.</summary>
    private static async Task<IVirtualDisk> OpenParentAsync(string name, VhdxMetadata metadata, DiskOpenContext context, CancellationToken cancellationToken)
    {
        var locator = metadata.ParentLocator;
        var at = metadata.ParentLocatorOffset;
        if (!locator.TryGetValue(VhdxSpec.ParentLinkageKey, out var linkageText) || !Guid.TryParse(linkageText, out var linkage))
        {
            throw new DiskFormatException(name, "parent locator", at, "it has no parent_linkage GUID");
        }

        Guid? linkage2 = locator.TryGetValue(VhdxSpec.ParentLinkage2Key, out var text2) && Guid.TryParse(text2, out var g2) ? g2 : null;
        var problems = new List<string>();
        foreach (var key in new[] { VhdxSpec.RelativePathKey, VhdxSpec.VolumePathKey, VhdxSpec.AbsoluteWin32PathKey })
        {
            if (!locator.TryGetValue(key, out var path))
            {
                continue;
            }

            IVirtualDisk parent;
            try
            {
                parent = await context.OpenParentAsync(name, ToLocalPath(path), "vhdx", cancellationToken).ConfigureAwait(false);
            }
            catch (DiskFormatException e) when (e.Structure is null)
            {
                problems.Add($"{key} '{VhdxMetadata.Printable(path)}': {e.Message}");
                continue;
            }

            var found = parent is VhdxDisk vhdx ? vhdx.DataWriteGuid : Guid.Empty;
            if (parent is AbsentParentDisk || found == linkage || (linkage2 is { } second && found == second))
            {
                return parent;
            }

            await parent.DisposeAsync().ConfigureAwait(false);
            problems.Add($"{key} '{VhdxMetadata.Printable(path)}' is a disk whose DataWriteGuid {found:B} is not the parent_linkage {linkage:B} (the parent changed after the child was made)");
        }

        throw new DiskFormatException(name, "parent locator", at, problems.Count == 0
            ? "it names no parent path (relative_path, volume_path or absolute_win32_path)"
            : "no parent could be opened: " + string.Join("; ", problems));
    }

    /// <summary>Windows paths as the resolver sees them: forward slashes, no leading <c>.\</c>.</summary>
    private static string ToLocalPath(string path)
    {
        var local = path.Replace('\\', '/');
        while (local.StartsWith("./", StringComparison.Ordinal))
        {
            local = local[2..];
        }

        return local;
    }

    public async ValueTask ReadAsync(long offset, Memory<byte> buffer, CancellationToken cancellationToken = default)
    {
        DiskRange.Check(this, offset, buffer.Length);
        var end = offset + buffer.Length;
        var runKind = PieceKind.Zero;
        long runGuest = offset, runHost = 0, runLength = 0;
        var position = offset;
        while (position < end)
        {
            var piece = await ResolveAsync(position, end - position, cancellationToken).ConfigureAwait(false);
            var extends = piece.Kind == runKind && (piece.Kind != PieceKind.Data || runHost + runLength == piece.Host);
            if (extends)
            {
                runLength += piece.Length;
            }
            else
            {
                await FlushAsync(runKind, runGuest, runHost, runLength, offset, buffer, cancellationToken).ConfigureAwait(false);
                (runKind, runGuest, runHost, runLength) = (piece.Kind, position, piece.Host, piece.Length);
            }

            position += piece.Length;
        }

        await FlushAsync(runKind, runGuest, runHost, runLength, offset, buffer, cancellationToken).ConfigureAwait(false);
    }

    private async ValueTask FlushAsync(PieceKind kind, long guest, long host, long length, long bufferOffset, Memory<byte> buffer, CancellationToken cancellationToken)
    {
        if (length == 0)
        {
            return;
        }

        var slice = buffer.Slice((int)(guest - bufferOffset), (int)length);
        switch (kind)
        {
            case PieceKind.Data:
                var read = await _source.ReadAsync(host, slice, cancellationToken).ConfigureAwait(false);
                if (read < slice.Length)
                {
                    throw new DiskFormatException(Name, "payload block", host + read, "the file ended inside a payload block (truncated image?)");
                }

                break;
            case PieceKind.Parent:
                var fromParent = (int)Math.Clamp(_parent!.Capacity - guest, 0, length);
                if (fromParent > 0)
                {
                    await _parent.ReadAsync(guest, slice[..fromParent], cancellationToken).ConfigureAwait(false);
                }

                slice[fromParent..].Span.Clear();
                break;
            default:
                slice.Span.Clear();
                break;
        }
    }

    /// <summary>What the guest range from <paramref name="guest"/> maps to, up to the end of its block or run of sectors.</summary>
    private async ValueTask<Piece> ResolveAsync(long guest, long maxLength, CancellationToken cancellationToken)
    {
        var block = guest / _blockSize;
        var inBlock = guest - (block * _blockSize);
        var toBlockEnd = Math.Min(maxLength, _blockSize - inBlock);
        var batIndex = block + (block / _chunkRatio);
        var entry = await GetBatEntryAsync(batIndex, cancellationToken).ConfigureAwait(false);
        var differencing = _parent is not null;
        switch ((int)(entry & VhdxSpec.BatStateMask))
        {
            case VhdxSpec.PayloadBlockFullyPresent:
                return new Piece(PieceKind.Data, toBlockEnd, CheckPayload(entry, block, batIndex) + inBlock);
            case VhdxSpec.PayloadBlockNotPresent:
                return new Piece(differencing ? PieceKind.Parent : PieceKind.Unallocated, toBlockEnd, 0);
            case VhdxSpec.PayloadBlockZero:
                return new Piece(PieceKind.Zero, toBlockEnd, 0);
            case VhdxSpec.PayloadBlockUndefined or VhdxSpec.PayloadBlockUnmapped or VhdxSpec.PayloadBlockUnmappedV095:
                // Content the spec leaves undefined: read as zeroes, never as a parent's stale data.
                return new Piece(differencing ? PieceKind.Zero : PieceKind.Unallocated, toBlockEnd, 0);
            case VhdxSpec.PayloadBlockPartiallyPresent when differencing:
                var bitmap = await GetBitmapAsync(block, cancellationToken).ConfigureAwait(false);
                var sectorSize = _metadata.LogicalSectorSize;
                var sector = (int)(inBlock / sectorSize);
                var present = IsSet(bitmap, sector);
                var lastSector = (int)((inBlock + toBlockEnd - 1) / sectorSize);
                var s = sector + 1;
                while (s <= lastSector && IsSet(bitmap, s) == present)
                {
                    s++;
                }

                var length = Math.Min(toBlockEnd, ((long)s * sectorSize) - inBlock);
                return present
                    ? new Piece(PieceKind.Data, length, CheckPayload(entry, block, batIndex) + inBlock)
                    : new Piece(PieceKind.Parent, length, 0);
            default:
                throw new DiskFormatException(Name, "BAT entry", _regions.BatOffset + (8 * batIndex),
                    Inv($"payload block {block} has state {entry & VhdxSpec.BatStateMask}, which is not valid{(differencing ? "" : " outside a differencing disk")}"));
        }
    }

    private static bool IsSet(byte[] bitmap, int bit) => ((bitmap[bit >> 3] >> (bit & 7)) & 1) != 0;

    private long CheckPayload(ulong entry, long block, long batIndex)
    {
        var host = (long)(entry >> VhdxSpec.BatFileOffsetShift) * VhdxSpec.MiB;
        var blockLength = Math.Min(_blockSize, Capacity - (block * _blockSize));
        if (host < VhdxSpec.HeaderSectionEnd || host > _source.Length - blockLength)
        {
            throw new DiskFormatException(Name, "BAT entry", _regions.BatOffset + (8 * batIndex),
                Inv($"payload block {block} at file offset {host} lies outside the file of {_source.Length} bytes (or in its header section)"));
        }

        return host;
    }

    private async ValueTask<ulong> GetBatEntryAsync(long index, CancellationToken cancellationToken)
    {
        var page = index / BatPageEntries;
        if (!_bat.TryGet(page, out var table))
        {
            var first = page * BatPageEntries;
            var count = (int)Math.Min(BatPageEntries, _batEntries - first);
            var raw = new byte[count * 8];
            await VhdxMetadata.ReadExactlyAsync(_source, _regions.BatOffset + (first * 8), raw, "BAT", cancellationToken).ConfigureAwait(false);
            table = new ulong[count];
            for (var i = 0; i < count; i++)
            {
                table[i] = BinaryPrimitives.ReadUInt64LittleEndian(raw.AsSpan(i * 8));
            }

            _bat.Add(page, table);
        }

        return table[index - (page * BatPageEntries)];
    }

    /// <summary>The bits of the sector bitmap that belong to <paramref name="block"/>, one per logical sector.</summary>
    private async ValueTask<byte[]> GetBitmapAsync(long block, CancellationToken cancellationToken)
    {
        if (_bitmaps.TryGet(block, out var cached))
        {
            return cached;
        }

        var chunk = block / _chunkRatio;
        var sbIndex = (chunk * (_chunkRatio + 1)) + _chunkRatio;
        var entry = await GetBatEntryAsync(sbIndex, cancellationToken).ConfigureAwait(false);
        var where = _regions.BatOffset + (8 * sbIndex);
        if ((entry & VhdxSpec.BatStateMask) != VhdxSpec.SectorBitmapBlockPresent)
        {
            throw new DiskFormatException(Name, "BAT entry", where, Inv($"payload block {block} is partially present but the sector bitmap block of chunk {chunk} is not present"));
        }

        var host = (long)(entry >> VhdxSpec.BatFileOffsetShift) * VhdxSpec.MiB;
        if (host < VhdxSpec.HeaderSectionEnd || host > _source.Length - VhdxSpec.SectorBitmapBlockSize)
        {
            throw new DiskFormatException(Name, "BAT entry", where, Inv($"the sector bitmap block of chunk {chunk} at file offset {host} lies outside the file of {_source.Length} bytes"));
        }

        var bitmap = new byte[_bitmapBytesPerBlock];
        await VhdxMetadata.ReadExactlyAsync(_source, host + ((block % _chunkRatio) * _bitmapBytesPerBlock), bitmap, "sector bitmap block", cancellationToken).ConfigureAwait(false);
        _bitmaps.Add(block, bitmap);
        return bitmap;
    }

    public async IAsyncEnumerable<DiskExtent> GetExtentsAsync(long offset, long length, [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        DiskRange.Check(this, offset, length);
        await foreach (var e in ExtentRuns.WalkAsync(offset, offset + length, _parent, async (position, remaining, ct) =>
        {
            var piece = await ResolveAsync(position, remaining, ct).ConfigureAwait(false);
            return piece.Kind switch
            {
                PieceKind.Parent => ExtentPiece.Parent(piece.Length),
                PieceKind.Data => new ExtentPiece(piece.Length, DiskExtentKind.Data, Parts: PayloadExtents(position, piece)),
                PieceKind.Zero => new ExtentPiece(piece.Length, DiskExtentKind.Zero),
                _ => new ExtentPiece(piece.Length, DiskExtentKind.Unallocated),
            };
        }, cancellationToken).ConfigureAwait(false))
        {
            yield return e;
        }
    }

    /// <summary>
    /// A present payload run: data, except where the file itself has a hole (a block that was allocated but never
    /// fully written reads zeroes there, and Hyper-V and qemu leave such holes sparse), which is a zero run.
    /// </summary>
    private IEnumerable<DiskExtent> PayloadExtents(long position, Piece piece)
    {
        if (_source is not FileSource file)
        {
            yield return new DiskExtent(position, piece.Length, DiskExtentKind.Data);
            yield break;
        }

        var hostEnd = piece.Host + piece.Length;
        foreach (var (start, stop, isData) in Raw.FileAllocation.Runs(host => Raw.FileAllocation.NextData(file.Handle, host, hostEnd), piece.Host, hostEnd))
        {
            yield return new DiskExtent(position + (start - piece.Host), stop - start, isData ? DiskExtentKind.Data : DiskExtentKind.Zero);
        }
    }

    public DiskInfo Describe()
    {
        var features = new List<string>
        {
            Inv($"logical_sector_size={_metadata.LogicalSectorSize}"),
            Inv($"physical_sector_size={_metadata.PhysicalSectorSize}"),
        };
        if (_source is VhdxOverlaySource)
        {
            features.Add("log_replayed");
        }

        return new DiskInfo
        {
            Format = "vhdx",
            Subformat = _metadata.HasParent ? "differencing" : _metadata.LeaveBlockAllocated ? "fixed" : "dynamic",
            Name = Name,
            VirtualSize = Capacity,
            FileSize = _file.Length,
            ClusterSize = _metadata.BlockSize,
            Features = features,
            Parent = _parent?.Describe(),
        };
    }

    public async ValueTask DisposeAsync()
    {
        if (_parent is not null)
        {
            await _parent.DisposeAsync().ConfigureAwait(false);
        }

        if (OwnsSource)
        {
            await _file.DisposeAsync().ConfigureAwait(false);
        }
    }

    private static string Inv(FormattableString text) => text.ToString(CultureInfo.InvariantCulture);
}
