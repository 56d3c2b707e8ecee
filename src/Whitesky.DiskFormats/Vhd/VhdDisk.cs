using System.Buffers.Binary;
using System.Globalization;
using System.Runtime.CompilerServices;
using System.Text;

namespace Whitesky.DiskFormats.Vhd;

/// <summary>
/// A VHD image. Fixed: the data, then the footer. Dynamic and differencing: a block allocation table maps
/// blocks to a sector bitmap followed by the block's data; in a differencing disk a clear bit reads from the parent.
/// </summary>
internal sealed class VhdDisk : IVirtualDisk
{
    /// <summary>Sector bitmaps cached: at most 4096, and at most 16 MiB of them.</summary>
    private const int CachedBitmaps = 4096;
    private const int CachedBitmapBytes = 16 << 20;

    private readonly IRandomAccessSource _source;
    private readonly VhdFooter _footer;
    private readonly VhdDynamicHeader? _header;
    private readonly uint[] _bat;
    private readonly IVirtualDisk? _parent;
    private readonly TableCache<byte>? _bitmaps;
    private readonly int _blockSize;
    private readonly int _bitmapSize;

    private VhdDisk(IRandomAccessSource source, VhdFooter footer, VhdDynamicHeader? header, uint[] bat, IVirtualDisk? parent)
    {
        _source = source;
        _footer = footer;
        _header = header;
        _bat = bat;
        _parent = parent;
        if (header is not null)
        {
            _blockSize = header.BlockSize;
            var bitmapBytes = (header.BlockSize / VhdSpec.SectorSize + 7) / 8;
            _bitmapSize = (bitmapBytes + VhdSpec.SectorSize - 1) / VhdSpec.SectorSize * VhdSpec.SectorSize;
            _bitmaps = new TableCache<byte>(Math.Clamp(CachedBitmapBytes / _bitmapSize, 16, CachedBitmaps));
        }
    }

    private enum PieceKind
    {
        Data,
        Unallocated,
    }

    private readonly record struct Piece(PieceKind Kind, long Length, long Host);

    public bool OwnsSource { get; set; }

    public long Capacity => _footer.CurrentSize;

    public int LogicalSectorSize => VhdSpec.SectorSize;

    public IVirtualDisk? Parent => _parent;

    /// <summary>The footer's unique id, which a differencing child names as its parent's.</summary>
    public Guid UniqueId => _footer.UniqueId;

    private string Name => _source.Name;

    private bool IsFixed => _header is null;

    public static async Task<VhdDisk> OpenAsync(IRandomAccessSource source, DiskOpenContext context, CancellationToken cancellationToken)
    {
        var name = source.Name;
        var footer = await ReadFooterAsync(source, cancellationToken).ConfigureAwait(false);
        if (footer.DiskType == VhdSpec.DiskTypeFixed)
        {
            if (footer.CurrentSize > footer.Offset)
            {
                throw new DiskFormatException(name, "footer", footer.Offset + VhdSpec.FooterCurrentSize, Inv($"current size {footer.CurrentSize} is larger than the {footer.Offset} bytes of data before the footer (truncated image?)"));
            }

            return new VhdDisk(source, footer, null, [], null);
        }

        if (footer.DataOffset < VhdSpec.FooterLength || footer.DataOffset > source.Length - VhdSpec.DynamicHeaderLength)
        {
            throw new DiskFormatException(name, "footer", footer.Offset + VhdSpec.FooterDataOffset, Inv($"the dynamic disk header offset {footer.DataOffset} is not inside the file of {source.Length} bytes"));
        }

        var headerBytes = new byte[VhdSpec.DynamicHeaderLength];
        await ReadExactAsync(source, footer.DataOffset, headerBytes, "dynamic disk header", cancellationToken).ConfigureAwait(false);
        var header = VhdDynamicHeader.Parse(name, headerBytes, footer.DataOffset, source.Length, footer.CurrentSize);
        var bat = await ReadBatAsync(source, header, footer.CurrentSize, cancellationToken).ConfigureAwait(false);

        IVirtualDisk? parent = null;
        if (footer.DiskType == VhdSpec.DiskTypeDifferencing)
        {
            parent = await OpenParentAsync(source, context, header, cancellationToken).ConfigureAwait(false);
        }

        return new VhdDisk(source, footer, header, bat, parent);
    }

    /// <summary>The footer at the end (512 bytes, or 511 for old Virtual PC images), else the copy at offset 0 of a dynamic image.</summary>
    private static async Task<VhdFooter> ReadFooterAsync(IRandomAccessSource source, CancellationToken cancellationToken)
    {
        var name = source.Name;
        if (source.Length < VhdSpec.OldFooterLength)
        {
            throw new DiskFormatException(name, "footer", 0, Inv($"the file of {source.Length} bytes is too short to hold a VHD footer"));
        }

        var tail = new byte[Math.Min(VhdSpec.FooterLength, source.Length)];
        var tailOffset = source.Length - tail.Length;
        await ReadExactAsync(source, tailOffset, tail, "footer", cancellationToken).ConfigureAwait(false);
        if (tail.Length == VhdSpec.FooterLength && VhdFooter.HasCookie(tail))
        {
            return VhdFooter.Parse(name, tail, tailOffset);
        }

        if (VhdFooter.HasCookie(tail.AsSpan(tail.Length - VhdSpec.OldFooterLength)))
        {
            return VhdFooter.Parse(name, tail.AsSpan(tail.Length - VhdSpec.OldFooterLength), source.Length - VhdSpec.OldFooterLength);
        }

        var head = new byte[VhdSpec.FooterLength];
        var got = await source.ReadAsync(0, head, cancellationToken).ConfigureAwait(false);
        if (got == head.Length && VhdFooter.HasCookie(head))
        {
            var copy = VhdFooter.Parse(name, head, 0);
            if (copy.DiskType != VhdSpec.DiskTypeFixed)
            {
                // The footer at the end is missing (an interrupted copy?); the copy at the start describes the image.
                return copy with { Offset = source.Length };
            }
        }

        throw new DiskFormatException(name, "footer", tailOffset, "no VHD footer ('conectix') at the end of the file");
    }

    private static async Task<uint[]> ReadBatAsync(IRandomAccessSource source, VhdDynamicHeader header, long size, CancellationToken cancellationToken)
    {
        // Only the entries the disk's size needs are read; the header's own count was checked against the file.
        var needed = (int)((size + header.BlockSize - 1) / header.BlockSize);
        var raw = new byte[4L * needed];
        await ReadExactAsync(source, header.TableOffset, raw, "block allocation table", cancellationToken).ConfigureAwait(false);
        var bat = new uint[needed];
        for (var i = 0; i < bat.Length; i++)
        {
            bat[i] = BinaryPrimitives.ReadUInt32BigEndian(raw.AsSpan(i * 4));
        }

        return bat;
    }

    /// <summary>Opens the parent through its locators: relative paths first (W2ru, Wi2r), then absolute ones (W2ku, Wi2k).</summary>
    private static async Task<IVirtualDisk> OpenParentAsync(IRandomAccessSource source, DiskOpenContext context, VhdDynamicHeader header, CancellationToken cancellationToken)
    {
        var name = source.Name;
        var ordered = header.ParentLocators
            .Where(l => l.PlatformCode is VhdSpec.PlatformW2ru or VhdSpec.PlatformWi2r)
            .Concat(header.ParentLocators.Where(l => l.PlatformCode is VhdSpec.PlatformW2ku or VhdSpec.PlatformWi2k))
            .ToList();
        if (ordered.Count == 0)
        {
            throw new DiskFormatException(name, "dynamic disk header", header.Offset + VhdSpec.HeaderParentLocators, "the differencing disk has no Windows parent locator (W2ru, W2ku, Wi2r, Wi2k)");
        }

        var failures = new List<string>();
        foreach (var locator in ordered)
        {
            var bytes = new byte[locator.DataLength];
            await ReadExactAsync(source, locator.DataOffset, bytes, "parent locator", cancellationToken).ConfigureAwait(false);
            var unicode = locator.PlatformCode is VhdSpec.PlatformW2ru or VhdSpec.PlatformW2ku;
            var path = (unicode ? Encoding.Unicode.GetString(bytes) : Encoding.Latin1.GetString(bytes)).TrimEnd('\0');
            var relative = locator.PlatformCode is VhdSpec.PlatformW2ru or VhdSpec.PlatformWi2r;
            if (relative)
            {
                path = path.Replace('\\', '/');
                while (path.StartsWith("./", StringComparison.Ordinal))
                {
                    path = path[2..];
                }
            }

            if (path.Length == 0)
            {
                failures.Add(Inv($"{Platform(locator.PlatformCode)} at {locator.EntryOffset}: empty path"));
                continue;
            }

            IVirtualDisk? parent = null;
            try
            {
                parent = await context.OpenParentAsync(name, path, "vhd", cancellationToken).ConfigureAwait(false);
                if (parent is VhdDisk vhd && header.ParentUniqueId != Guid.Empty && vhd.UniqueId != header.ParentUniqueId)
                {
                    throw new DiskFormatException(Inv($"'{path}' has unique id {vhd.UniqueId}, not the parent's {header.ParentUniqueId}"));
                }

                return parent;
            }
            catch (DiskFormatException e)
            {
                if (parent is not null)
                {
                    await parent.DisposeAsync().ConfigureAwait(false);
                }

                failures.Add(Inv($"{Platform(locator.PlatformCode)} at {locator.EntryOffset}: {e.Message}"));
            }
        }

        throw new DiskFormatException(name, "parent locator", ordered[0].EntryOffset, "no parent locator leads to the parent: " + string.Join("; ", failures));
    }

    private static string Platform(uint code) => Encoding.ASCII.GetString([(byte)(code >> 24), (byte)(code >> 16), (byte)(code >> 8), (byte)code]);

    private static async ValueTask ReadExactAsync(IRandomAccessSource source, long offset, Memory<byte> buffer, string structure, CancellationToken cancellationToken)
    {
        var read = await source.ReadAsync(offset, buffer, cancellationToken).ConfigureAwait(false);
        if (read < buffer.Length)
        {
            throw new DiskFormatException(source.Name, structure, offset + read, "the file ended inside it");
        }
    }

    public async ValueTask ReadAsync(long offset, Memory<byte> buffer, CancellationToken cancellationToken = default)
    {
        DiskRange.Check(this, offset, buffer.Length);
        if (IsFixed)
        {
            await ReadExactAsync(_source, offset, buffer, "data", cancellationToken).ConfigureAwait(false);
            return;
        }

        var end = offset + buffer.Length;
        var runKind = PieceKind.Unallocated;
        long runGuest = offset, runHost = 0, runLength = 0;
        var position = offset;
        while (position < end)
        {
            var piece = await ResolveAsync(position, end - position, cancellationToken).ConfigureAwait(false);
            if (piece.Kind == runKind && (piece.Kind == PieceKind.Unallocated || runHost + runLength == piece.Host))
            {
                runLength += piece.Length;
            }
            else
            {
                await FlushAsync(runKind, runGuest, runHost, runLength, offset, buffer, cancellationToken).ConfigureAwait(false);
                runKind = piece.Kind;
                runGuest = position;
                runHost = piece.Host;
                runLength = piece.Length;
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
        if (kind == PieceKind.Data)
        {
            var read = await _source.ReadAsync(host, slice, cancellationToken).ConfigureAwait(false);
            if (read < slice.Length)
            {
                throw new DiskFormatException(Name, "data block", host + read, Inv($"the file ended inside block {(guest + read) / _blockSize} (truncated image?)"));
            }

            return;
        }

        var fromParent = _parent is null ? 0 : (int)Math.Clamp(_parent.Capacity - guest, 0, length);
        if (fromParent > 0)
        {
            await _parent!.ReadAsync(guest, slice[..fromParent], cancellationToken).ConfigureAwait(false);
        }

        slice[fromParent..].Span.Clear();
    }

    /// <summary>What the guest range at <paramref name="guest"/> maps to: a run of sectors with the same bitmap bit, inside one block.</summary>
    private async ValueTask<Piece> ResolveAsync(long guest, long maxLength, CancellationToken cancellationToken)
    {
        var block = (int)(guest / _blockSize);
        var inBlock = (int)(guest % _blockSize);
        var toBlockEnd = Math.Min(maxLength, _blockSize - inBlock);
        var entry = _bat[block];
        if (entry == VhdSpec.BatUnused)
        {
            return new Piece(PieceKind.Unallocated, toBlockEnd, 0);
        }

        var blockStart = CheckBlock(block, entry);
        var bitmap = await GetBitmapAsync(blockStart, cancellationToken).ConfigureAwait(false);
        var sector = inBlock / VhdSpec.SectorSize;
        var lastSector = (int)((inBlock + toBlockEnd - 1) / VhdSpec.SectorSize);
        var set = IsSet(bitmap, sector);
        var s = sector + 1;
        while (s <= lastSector)
        {
            if ((s & 7) == 0 && s + 8 <= lastSector + 1 && bitmap[s >> 3] == (set ? 0xFF : 0x00))
            {
                s += 8;
            }
            else if (IsSet(bitmap, s) == set)
            {
                s++;
            }
            else
            {
                break;
            }
        }

        var length = Math.Min(toBlockEnd, ((long)s * VhdSpec.SectorSize) - inBlock);
        return set
            ? new Piece(PieceKind.Data, length, blockStart + _bitmapSize + inBlock)
            : new Piece(PieceKind.Unallocated, length, 0);
    }

    private static bool IsSet(byte[] bitmap, int sector) => (bitmap[sector >> 3] & (0x80 >> (sector & 7))) != 0;

    /// <summary>Checks that block <paramref name="block"/>'s bitmap and the part of its data inside the disk lie in the file.</summary>
    private long CheckBlock(int block, uint entry)
    {
        var blockStart = (long)entry * VhdSpec.SectorSize;
        var dataNeeded = Math.Min(_blockSize, Capacity - ((long)block * _blockSize));
        var where = _header!.TableOffset + (4L * block);
        if (blockStart < VhdSpec.FooterLength || blockStart + _bitmapSize + dataNeeded > _source.Length)
        {
            throw new DiskFormatException(Name, "block allocation table", where, Inv($"block {block} at sector {entry} (offset {blockStart}) lies past the end of the file ({_source.Length} bytes) or inside the footer copy"));
        }

        var tableEnd = _header.TableOffset + (4L * _header.MaxTableEntries);
        if (blockStart < tableEnd && blockStart + _bitmapSize + dataNeeded > _header.TableOffset)
        {
            throw new DiskFormatException(Name, "block allocation table", where, Inv($"block {block} at offset {blockStart} overlaps the block allocation table"));
        }

        return blockStart;
    }

    private async ValueTask<byte[]> GetBitmapAsync(long blockStart, CancellationToken cancellationToken)
    {
        if (_bitmaps!.TryGet(blockStart, out var cached))
        {
            return cached;
        }

        var bitmap = new byte[_bitmapSize];
        await ReadExactAsync(_source, blockStart, bitmap, "sector bitmap", cancellationToken).ConfigureAwait(false);
        _bitmaps.Add(blockStart, bitmap);
        return bitmap;
    }

    public async IAsyncEnumerable<DiskExtent> GetExtentsAsync(long offset, long length, [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        DiskRange.Check(this, offset, length);
        var end = offset + length;
        if (IsFixed)
        {
            foreach (var e in FixedExtents(offset, end))
            {
                yield return e;
            }

            yield break;
        }

        await foreach (var e in ExtentRuns.WalkAsync(offset, end, _parent, async (position, remaining, ct) =>
        {
            var piece = await ResolveAsync(position, remaining, ct).ConfigureAwait(false);
            return piece.Kind == PieceKind.Unallocated && _parent is not null
                ? ExtentPiece.Parent(piece.Length)
                : new ExtentPiece(piece.Length, piece.Kind == PieceKind.Data ? DiskExtentKind.Data : DiskExtentKind.Unallocated);
        }, cancellationToken).ConfigureAwait(false))
        {
            yield return e;
        }
    }

    /// <summary>A fixed image is raw data: its allocation is the file's (holes read as zeroes and are unallocated).</summary>
    private IEnumerable<DiskExtent> FixedExtents(long offset, long end)
    {
        if (_source is not FileSource file)
        {
            if (end > offset)
            {
                yield return new DiskExtent(offset, end - offset, DiskExtentKind.Data);
            }

            yield break;
        }

        foreach (var (start, stop, isData) in Raw.FileAllocation.Runs(position => Raw.FileAllocation.NextData(file.Handle, position, Capacity), offset, end))
        {
            yield return new DiskExtent(start, stop - start, isData ? DiskExtentKind.Data : DiskExtentKind.Unallocated);
        }
    }

    public DiskInfo Describe()
    {
        var features = new List<string>();
        if (_footer.Length == VhdSpec.OldFooterLength)
        {
            features.Add("footer_511");
        }

        if (_footer.CreatorApplication.Length > 0)
        {
            features.Add("creator=" + _footer.CreatorApplication);
        }

        return new DiskInfo
        {
            Format = "vhd",
            Subformat = _footer.DiskType switch
            {
                VhdSpec.DiskTypeFixed => "fixed",
                VhdSpec.DiskTypeDynamic => "dynamic",
                _ => "differencing",
            },
            Name = Name,
            VirtualSize = Capacity,
            FileSize = _source.Length,
            ClusterSize = _header?.BlockSize,
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
            await _source.DisposeAsync().ConfigureAwait(false);
        }
    }

    private static string Inv(FormattableString text) => text.ToString(CultureInfo.InvariantCulture);
}
