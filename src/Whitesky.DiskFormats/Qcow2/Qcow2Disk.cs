using System.Buffers;
using System.Buffers.Binary;
using System.Globalization;
using System.IO.Compression;
using System.Runtime.CompilerServices;

namespace Whitesky.DiskFormats.Qcow2;

/// <summary>A qcow2 image: L1 and L2 tables map guest clusters to host clusters, compressed clusters, zeroes or the backing file.</summary>
internal sealed class Qcow2Disk : IVirtualDisk
{
    /// <summary>At most 64 L2 tables, and at most 32 MiB of them (a 2 MiB-cluster image has 2 MiB tables).</summary>
    private const int CachedTables = 64;
    private const int CachedTableBytes = 32 << 20;

    private readonly IRandomAccessSource _source;
    private readonly Qcow2Header _header;
    private readonly ulong[] _l1;
    private readonly IRandomAccessSource? _dataFile;
    private readonly IVirtualDisk? _parent;
    private readonly TableCache<ulong> _tables;
    private readonly int _clusterBits;
    private readonly int _clusterSize;
    private readonly int _l2Entries;
    private readonly int _subclusterSize;
    private readonly long _l1End;
    private volatile Inflated? _lastInflated;

    private Qcow2Disk(IRandomAccessSource source, Qcow2Header header, ulong[] l1, IRandomAccessSource? dataFile, IVirtualDisk? parent)
    {
        _source = source;
        _header = header;
        _l1 = l1;
        _dataFile = dataFile;
        _parent = parent;
        _clusterBits = header.ClusterBits;
        _clusterSize = header.ClusterSize;
        _l2Entries = header.ExtendedL2 ? _clusterSize / 16 : _clusterSize / 8;
        _subclusterSize = header.ExtendedL2 ? _clusterSize / Qcow2Spec.SubclustersPerCluster : _clusterSize;
        _l1End = header.L1Offset + (8L * header.L1Size);
        _tables = new TableCache<ulong>(Math.Clamp(CachedTableBytes / _clusterSize, 4, CachedTables));
    }

    private enum PieceKind
    {
        Data,
        Zero,
        Unallocated,
        Compressed,
    }

    private sealed record Inflated(long Cluster, byte[] Data);

    private readonly record struct Piece(PieceKind Kind, long Length, long Host, ulong Entry);

    public bool OwnsSource { get; set; }

    public long Capacity => _header.Size;

    public int LogicalSectorSize => 512;

    public IVirtualDisk? Parent => _parent;

    private string Name => _source.Name;

    private IRandomAccessSource DataTarget => _dataFile ?? _source;

    public static async Task<Qcow2Disk> OpenAsync(IRandomAccessSource source, DiskOpenContext context, CancellationToken cancellationToken)
    {
        var name = source.Name;
        var probe = new byte[(int)Math.Min(4096, source.Length)];
        var got = await source.ReadAsync(0, probe, cancellationToken).ConfigureAwait(false);
        var clusterBits = got >= 24 ? BinaryPrimitives.ReadUInt32BigEndian(probe.AsSpan(20)) : 0;
        if (clusterBits is < Qcow2Spec.MinClusterBits or > Qcow2Spec.MaxClusterBits)
        {
            clusterBits = Qcow2Spec.MinClusterBits; // Parse names the problem
        }

        var head = new byte[(int)Math.Min(1L << (int)clusterBits, source.Length)];
        got = await source.ReadAsync(0, head, cancellationToken).ConfigureAwait(false);
        var header = Qcow2Header.Parse(name, head.AsSpan(0, got), source.Length);

        if (header.ExtendedL2 && header.ClusterBits < 14)
        {
            throw new DiskFormatException(name, "header", 20, "extended L2 entries need clusters of at least 16 KiB");
        }

        var l1 = await ReadL1Async(source, header, cancellationToken).ConfigureAwait(false);
        IRandomAccessSource? dataFile = null;
        IVirtualDisk? parent = null;
        try
        {
            if (header.DataFile is { } dataName)
            {
                try
                {
                    dataFile = await context.OpenReferenceAsync(name, dataName, cancellationToken).ConfigureAwait(false);
                }
                catch (DiskFormatException e) when (e.Structure is null)
                {
                    throw new DiskFormatException(name, "data file name", header.DataFileNameOffset, e.Message);
                }
            }

            var backing = await ReadBackingNameAsync(source, header, cancellationToken).ConfigureAwait(false);
            if (backing is not null)
            {
                try
                {
                    parent = await context.OpenParentAsync(name, backing, header.BackingFormat, cancellationToken).ConfigureAwait(false);
                }
                catch (DiskFormatException e) when (e.Structure is null)
                {
                    throw new DiskFormatException(name, "backing file name", header.BackingFileOffset, e.Message);
                }
            }

            return new Qcow2Disk(source, header, l1, dataFile, parent);
        }
        catch
        {
            if (parent is not null)
            {
                await parent.DisposeAsync().ConfigureAwait(false);
            }

            if (dataFile is not null)
            {
                await dataFile.DisposeAsync().ConfigureAwait(false);
            }

            throw;
        }
    }

    private static async Task<ulong[]> ReadL1Async(IRandomAccessSource source, Qcow2Header header, CancellationToken cancellationToken)
    {
        var name = source.Name;
        var l2Entries = header.ExtendedL2 ? header.ClusterSize / 16 : header.ClusterSize / 8;
        var bytesPerL1Entry = (long)header.ClusterSize * l2Entries;
        var needed = (header.Size + bytesPerL1Entry - 1) / bytesPerL1Entry;
        var bytes = 8L * header.L1Size;
        if (header.L1Size < needed)
        {
            throw new DiskFormatException(name, "L1 table", header.L1Offset, Inv($"l1_size {header.L1Size} is too small for a virtual size of {header.Size} bytes (needs {needed})"));
        }

        if (bytes > Qcow2Spec.MaxL1Bytes)
        {
            throw new DiskFormatException(name, "L1 table", header.L1Offset, Inv($"l1_size {header.L1Size} ({bytes} bytes) is larger than the {Qcow2Spec.MaxL1Bytes}-byte limit"));
        }

        if (bytes > 0 && (header.L1Offset < header.ClusterSize || header.L1Offset % header.ClusterSize != 0 || header.L1Offset > source.Length || bytes > source.Length - header.L1Offset))
        {
            throw new DiskFormatException(name, "L1 table", header.L1Offset, Inv($"a table of {bytes} bytes does not fit in the file of {source.Length} bytes at a cluster-aligned offset after the header"));
        }

        var raw = new byte[bytes];
        var read = await source.ReadAsync(header.L1Offset, raw, cancellationToken).ConfigureAwait(false);
        if (read < raw.Length)
        {
            throw new DiskFormatException(name, "L1 table", header.L1Offset + read, "the file ended inside the table");
        }

        var l1 = new ulong[header.L1Size];
        for (var i = 0; i < l1.Length; i++)
        {
            l1[i] = BinaryPrimitives.ReadUInt64BigEndian(raw.AsSpan(i * 8));
        }

        return l1;
    }

    private static async Task<string?> ReadBackingNameAsync(IRandomAccessSource source, Qcow2Header header, CancellationToken cancellationToken)
    {
        if (header.BackingFileOffset == 0)
        {
            return null;
        }

        var name = source.Name;
        var size = header.BackingFileSize;
        if (size is 0 or > Qcow2Spec.MaxBackingNameLength)
        {
            throw new DiskFormatException(name, "backing file name", header.BackingFileOffset, Inv($"its length {size} is not between 1 and {Qcow2Spec.MaxBackingNameLength}"));
        }

        if (header.BackingFileOffset > source.Length - size)
        {
            throw new DiskFormatException(name, "backing file name", header.BackingFileOffset, "the name lies past the end of the file");
        }

        var bytes = new byte[size];
        var read = await source.ReadAsync(header.BackingFileOffset, bytes, cancellationToken).ConfigureAwait(false);
        if (read < size)
        {
            throw new DiskFormatException(name, "backing file name", header.BackingFileOffset, "the file ended inside the name");
        }

        try
        {
            return new System.Text.UTF8Encoding(false, true).GetString(bytes);
        }
        catch (System.Text.DecoderFallbackException)
        {
            throw new DiskFormatException(name, "backing file name", header.BackingFileOffset, "the name is not valid UTF-8");
        }
    }

    public async ValueTask ReadAsync(long offset, Memory<byte> buffer, CancellationToken cancellationToken = default)
    {
        DiskRange.Check(this, offset, buffer.Length);
        var end = offset + buffer.Length;
        var compressed = new List<(long Guest, int Length, ulong Entry)>();
        var runKind = PieceKind.Zero;
        long runGuest = 0, runHost = 0, runLength = 0;
        var position = offset;
        while (position < end)
        {
            var piece = await ResolveAsync(position, end - position, cancellationToken).ConfigureAwait(false);
            switch (piece.Kind)
            {
                case PieceKind.Data when runKind == PieceKind.Data && runHost + runLength == piece.Host:
                case PieceKind.Unallocated when runKind == PieceKind.Unallocated:
                    runLength += piece.Length;
                    break;
                default:
                    await FlushAsync(runKind, runGuest, runHost, runLength, offset, buffer, cancellationToken).ConfigureAwait(false);
                    runKind = piece.Kind;
                    runGuest = position;
                    runHost = piece.Host;
                    runLength = piece.Length;
                    if (piece.Kind == PieceKind.Compressed)
                    {
                        compressed.Add((position, (int)piece.Length, piece.Entry));
                        runKind = PieceKind.Zero;
                        runLength = 0;
                    }

                    break;
            }

            position += piece.Length;
        }

        await FlushAsync(runKind, runGuest, runHost, runLength, offset, buffer, cancellationToken).ConfigureAwait(false);

        if (compressed.Count == 1)
        {
            await CopyCompressedAsync(compressed[0], offset, buffer, cancellationToken).ConfigureAwait(false);
        }
        else if (compressed.Count > 1)
        {
            var options = new ParallelOptions { MaxDegreeOfParallelism = Environment.ProcessorCount, CancellationToken = cancellationToken };
            await Parallel.ForEachAsync(compressed, options, (c, ct) => CopyCompressedAsync(c, offset, buffer, ct)).ConfigureAwait(false);
        }
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
            case PieceKind.Zero:
                slice.Span.Clear();
                break;
            case PieceKind.Data:
                var read = await DataTarget.ReadAsync(host, slice, cancellationToken).ConfigureAwait(false);
                if (read < slice.Length)
                {
                    throw new DiskFormatException(DataTarget.Name, "data cluster", host + read, "the file ended inside a data cluster (truncated image?)");
                }

                break;
            case PieceKind.Unallocated:
                var fromParent = _parent is null ? 0 : (int)Math.Clamp(_parent.Capacity - guest, 0, length);
                if (fromParent > 0)
                {
                    await _parent!.ReadAsync(guest, slice[..fromParent], cancellationToken).ConfigureAwait(false);
                }

                slice[fromParent..].Span.Clear();
                break;
        }
    }

    private async ValueTask CopyCompressedAsync((long Guest, int Length, ulong Entry) piece, long bufferOffset, Memory<byte> buffer, CancellationToken cancellationToken)
    {
        var cluster = piece.Guest >> _clusterBits;
        var inCluster = (int)(piece.Guest & (_clusterSize - 1));
        var destination = buffer.Slice((int)(piece.Guest - bufferOffset), piece.Length);
        var last = _lastInflated;
        if (last is not null && last.Cluster == cluster)
        {
            last.Data.AsSpan(inCluster, piece.Length).CopyTo(destination.Span);
            return;
        }

        if (piece.Length == _clusterSize)
        {
            // A whole cluster (the common case of a large read): inflated straight into the caller's buffer, no copy.
            await InflateAsync(piece.Entry, destination, cancellationToken).ConfigureAwait(false);
            return;
        }

        // Part of a cluster: inflated once and kept, since the next small read usually wants the rest of it.
        var data = new byte[_clusterSize];
        await InflateAsync(piece.Entry, data, cancellationToken).ConfigureAwait(false);
        _lastInflated = new Inflated(cluster, data);
        data.AsSpan(inCluster, piece.Length).CopyTo(destination.Span);
    }

    /// <summary>Decompresses one compressed cluster into <paramref name="output"/> (one cluster long); never produces or reads more than its descriptor allows.</summary>
    private async ValueTask InflateAsync(ulong entry, Memory<byte> output, CancellationToken cancellationToken)
    {
        var x = 62 - (_clusterBits - 8);
        var host = (long)(entry & ((1UL << x) - 1));
        var extraSectors = (long)((entry >> x) & ((1UL << (_clusterBits - 8)) - 1));
        var length = ((extraSectors + 1) * Qcow2Spec.SectorSize) - (host & (Qcow2Spec.SectorSize - 1));
        if (_dataFile is not null)
        {
            throw new DiskFormatException(Name, "compressed cluster", host, "compressed clusters are not allowed with an external data file");
        }

        if (host < _clusterSize || host >= _source.Length)
        {
            throw new DiskFormatException(Name, "compressed cluster", host, Inv($"the compressed data lies outside the file of {_source.Length} bytes or inside the header"));
        }

        length = Math.Min(length, _source.Length - host);
        var input = ArrayPool<byte>.Shared.Rent((int)length);
        try
        {
            var read = await _source.ReadAsync(host, input.AsMemory(0, (int)length), cancellationToken).ConfigureAwait(false);
            using var compressedStream = new MemoryStream(input, 0, read, writable: false);
            try
            {
                if (_header.CompressionType == Qcow2Spec.CompressionZstd)
                {
                    using var zstd = new ZstdSharp.DecompressionStream(compressedStream, 0, checkEndOfStream: false, leaveOpen: true);
                    Fill(zstd, output.Span, host);
                }
                else
                {
                    using var deflate = new DeflateStream(compressedStream, CompressionMode.Decompress, leaveOpen: true);
                    Fill(deflate, output.Span, host);
                    Span<byte> one = stackalloc byte[1];
                    if (deflate.Read(one) > 0)
                    {
                        throw new DiskFormatException(Name, "compressed cluster", host, Inv($"the data inflates to more than one cluster ({_clusterSize} bytes)"));
                    }
                }
            }
            catch (Exception e) when (e is InvalidDataException or ZstdSharp.ZstdException or IOException and not DiskFormatException)
            {
                throw new DiskFormatException(Name, "compressed cluster", host, "the compressed data is invalid: " + e.Message);
            }

        }
        finally
        {
            ArrayPool<byte>.Shared.Return(input);
        }
    }

    private void Fill(Stream stream, Span<byte> output, long host)
    {
        var got = stream.ReadAtLeast(output, output.Length, throwOnEndOfStream: false);
        if (got < output.Length)
        {
            throw new DiskFormatException(Name, "compressed cluster", host, Inv($"the data inflates to {got} bytes, less than a cluster ({output.Length} bytes)"));
        }
    }

    /// <summary>What the guest range starting at <paramref name="guest"/> maps to, up to the end of its (sub)cluster.</summary>
    private async ValueTask<Piece> ResolveAsync(long guest, long maxLength, CancellationToken cancellationToken)
    {
        var clusterIndex = guest >> _clusterBits;
        var l1Index = clusterIndex / _l2Entries;
        var l2Index = (int)(clusterIndex % _l2Entries);
        var inCluster = guest & (_clusterSize - 1);
        var l1Entry = _l1[l1Index];
        var l2Offset = (long)(l1Entry & Qcow2Spec.L1OffsetMask);
        if (l2Offset == 0)
        {
            var tableEnd = (l1Index + 1) * _l2Entries * (long)_clusterSize;
            return new Piece(PieceKind.Unallocated, Math.Min(maxLength, tableEnd - guest), 0, 0);
        }

        var table = await GetL2Async(l2Offset, l1Index, cancellationToken).ConfigureAwait(false);
        var toClusterEnd = Math.Min(maxLength, _clusterSize - inCluster);
        ulong entry, bitmap = 0;
        if (_header.ExtendedL2)
        {
            entry = table[2 * l2Index];
            bitmap = table[(2 * l2Index) + 1];
        }
        else
        {
            entry = table[l2Index];
        }

        var entryOffset = l2Offset + ((long)l2Index * (_header.ExtendedL2 ? 16 : 8));
        if ((entry & Qcow2Spec.L2Compressed) != 0)
        {
            return new Piece(PieceKind.Compressed, toClusterEnd, 0, entry & ~(Qcow2Spec.L2Compressed | Qcow2Spec.L2Copied));
        }

        var host = (long)(entry & Qcow2Spec.L2OffsetMask);

        // Offset 0 is a real place in an external data file; there every cluster has refcount 1, so the copied bit tells.
        var atZero = host == 0 && _dataFile is not null && (entry & Qcow2Spec.L2Copied) != 0;
        if (!_header.ExtendedL2)
        {
            if ((entry & Qcow2Spec.L2Zero) != 0)
            {
                return new Piece(PieceKind.Zero, toClusterEnd, 0, 0);
            }

            return host == 0 && !atZero
                ? new Piece(PieceKind.Unallocated, toClusterEnd, 0, 0)
                : new Piece(PieceKind.Data, toClusterEnd, CheckHost(host, entryOffset) + inCluster, 0);
        }

        var sub = (int)(inCluster / _subclusterSize);
        var length = Math.Min(maxLength, ((sub + 1) * (long)_subclusterSize) - inCluster);
        var allocated = ((bitmap >> sub) & 1) != 0;
        var zero = ((bitmap >> (32 + sub)) & 1) != 0;
        if (allocated && zero)
        {
            throw new DiskFormatException(Name, "L2 entry", entryOffset, Inv($"subcluster {sub} is marked both allocated and zero"));
        }

        if (zero)
        {
            return new Piece(PieceKind.Zero, length, 0, 0);
        }

        if (!allocated)
        {
            return new Piece(PieceKind.Unallocated, length, 0, 0);
        }

        if (host == 0 && !atZero)
        {
            throw new DiskFormatException(Name, "L2 entry", entryOffset, Inv($"subcluster {sub} is marked allocated but the cluster has no host offset"));
        }

        return new Piece(PieceKind.Data, length, CheckHost(host, entryOffset) + inCluster, 0);
    }

    private long CheckHost(long host, long entryOffset)
    {
        if ((host & (_clusterSize - 1)) != 0)
        {
            throw new DiskFormatException(Name, "L2 entry", entryOffset, Inv($"data cluster offset {host} is not cluster-aligned"));
        }

        if (host >= DataTarget.Length)
        {
            throw new DiskFormatException(Name, "L2 entry", entryOffset, Inv($"data cluster offset {host} lies past the end of {DataTarget.Name} ({DataTarget.Length} bytes)"));
        }

        if (_dataFile is null && (host < _clusterSize || (host < _l1End && host + _clusterSize > _header.L1Offset)))
        {
            throw new DiskFormatException(Name, "L2 entry", entryOffset, Inv($"data cluster offset {host} overlaps the header or the L1 table"));
        }

        return host;
    }

    private async ValueTask<ulong[]> GetL2Async(long l2Offset, long l1Index, CancellationToken cancellationToken)
    {
        if (_tables.TryGet(l2Offset, out var cached))
        {
            return cached;
        }

        var where = _header.L1Offset + (8 * l1Index);
        if ((l2Offset & (_clusterSize - 1)) != 0)
        {
            throw new DiskFormatException(Name, "L1 entry", where, Inv($"L2 table offset {l2Offset} is not cluster-aligned"));
        }

        if (l2Offset < _clusterSize || (l2Offset < _l1End && l2Offset + _clusterSize > _header.L1Offset))
        {
            throw new DiskFormatException(Name, "L2 table", l2Offset, "the table overlaps the header or the L1 table");
        }

        if (l2Offset > _source.Length - _clusterSize)
        {
            throw new DiskFormatException(Name, "L2 table", l2Offset, Inv($"the table lies past the end of the file ({_source.Length} bytes)"));
        }

        var raw = ArrayPool<byte>.Shared.Rent(_clusterSize);
        try
        {
            var read = await _source.ReadAsync(l2Offset, raw.AsMemory(0, _clusterSize), cancellationToken).ConfigureAwait(false);
            if (read < _clusterSize)
            {
                throw new DiskFormatException(Name, "L2 table", l2Offset + read, "the file ended inside the table");
            }

            var table = new ulong[_clusterSize / 8];
            for (var i = 0; i < table.Length; i++)
            {
                table[i] = BinaryPrimitives.ReadUInt64BigEndian(raw.AsSpan(i * 8));
            }

            _tables.Add(l2Offset, table);
            return table;
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(raw);
        }
    }

    public async IAsyncEnumerable<DiskExtent> GetExtentsAsync(long offset, long length, [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        DiskRange.Check(this, offset, length);
        await foreach (var e in ExtentRuns.WalkAsync(offset, offset + length, _parent, async (position, remaining, ct) =>
        {
            var piece = await ResolveAsync(position, remaining, ct).ConfigureAwait(false);
            return piece.Kind == PieceKind.Unallocated && _parent is not null
                ? ExtentPiece.Parent(piece.Length)
                : new ExtentPiece(piece.Length, piece.Kind switch
                {
                    PieceKind.Data or PieceKind.Compressed => DiskExtentKind.Data,
                    PieceKind.Zero => DiskExtentKind.Zero,
                    _ => DiskExtentKind.Unallocated,
                });
        }, cancellationToken).ConfigureAwait(false))
        {
            yield return e;
        }
    }

    public DiskInfo Describe()
    {
        var features = new List<string>();
        if (_header.ExtendedL2)
        {
            features.Add("extended_l2");
        }

        if (_header.HasDataFile)
        {
            features.Add("data_file");
            if ((_header.AutoclearFeatures & Qcow2Spec.AutoclearDataFileRaw) != 0)
            {
                features.Add("data_file_raw");
            }
        }

        if (_header.Dirty)
        {
            features.Add("dirty");
        }

        return new DiskInfo
        {
            Format = "qcow2",
            Subformat = _header.Version == 2 ? "v2" : "v3",
            Name = Name,
            VirtualSize = Capacity,
            FileSize = _source.Length,
            ClusterSize = _clusterSize,
            Compression = _header.CompressionType == Qcow2Spec.CompressionZstd ? "zstd" : "zlib",
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

        if (_dataFile is not null)
        {
            await _dataFile.DisposeAsync().ConfigureAwait(false);
        }

        if (OwnsSource)
        {
            await _source.DisposeAsync().ConfigureAwait(false);
        }
    }

    private static string Inv(FormattableString text) => text.ToString(CultureInfo.InvariantCulture);
}
