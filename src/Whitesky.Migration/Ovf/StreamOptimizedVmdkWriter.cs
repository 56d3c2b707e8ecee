using System.Buffers;
using System.Buffers.Binary;
using System.Globalization;
using System.IO.Compression;
using System.Text;
using Whitesky.DiskFormats;
using static Whitesky.Migration.Ovf.VmdkStreamConstants;

namespace Whitesky.Migration.Ovf;

/// <summary>
/// Writes any <see cref="IVirtualDisk"/> as a streamOptimized VMDK (the disk format of OVF packages) to a
/// forward-only stream: header (directory at the end), embedded descriptor, deflate-compressed 64 KiB grains
/// behind grain markers, a grain table marker and table after each 32 MiB span that holds data, the grain
/// directory, a footer and the end-of-stream marker. Unallocated, zero and all-zero grains are not written.
/// Grains of a span are compressed in parallel.
/// </summary>
public static class StreamOptimizedVmdkWriter
{
    private const long SpanBytes = (long)GrainBytes * GrainTableEntries;

    /// <summary>Writes <paramref name="disk"/> to <paramref name="output"/>; <paramref name="extentFileName"/> is the name the descriptor gives the extent.</summary>
    /// <param name="disk">The source disk; its capacity is rounded up to whole sectors.</param>
    /// <param name="output">Where the file goes; written forward only, not disposed.</param>
    /// <param name="extentFileName">The file name the embedded descriptor names (the VMDK's own name).</param>
    /// <param name="compressionLevel">Deflate effort.</param>
    /// <param name="progress">Receives the virtual bytes done.</param>
    /// <param name="cancellationToken">Cancels the write.</param>
    public static async Task<VmdkWriteResult> WriteAsync(IVirtualDisk disk, Stream output, string extentFileName = "disk.vmdk",
        CompressionLevel compressionLevel = CompressionLevel.Fastest, IProgress<long>? progress = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(disk);
        ArgumentNullException.ThrowIfNull(output);
        ArgumentException.ThrowIfNullOrEmpty(extentFileName);
        var capacitySectors = (disk.Capacity + SectorSize - 1) / SectorSize;
        var grains = (capacitySectors + GrainSectors - 1) / GrainSectors;
        var tables = (grains + GrainTableEntries - 1) / GrainTableEntries;
        if (tables > int.MaxValue / 4)
        {
            throw new ArgumentException($"a disk of {disk.Capacity} bytes is too large for a VMDK", nameof(disk));
        }

        var writer = new SectorWriter(output);
        var header = Header(capacitySectors, GrainDirectoryAtEnd);
        await writer.WriteAsync(header, cancellationToken).ConfigureAwait(false);
        var descriptor = new byte[DescriptorSectors * SectorSize];
        var text = Descriptor(capacitySectors, extentFileName);
        if (Encoding.ASCII.GetByteCount(text) > descriptor.Length)
        {
            throw new ArgumentException("the extent file name makes the descriptor too long", nameof(extentFileName));
        }

        Encoding.ASCII.GetBytes(text, descriptor);
        await writer.WriteAsync(descriptor, cancellationToken).ConfigureAwait(false);
        await writer.PadToSectorAsync(OverheadSectors, cancellationToken).ConfigureAwait(false);

        var directory = new uint[tables];
        var table = new uint[GrainTableEntries];
        var span = ArrayPool<byte>.Shared.Rent((int)SpanBytes);
        long populated = 0, written = 0;
        try
        {
            for (long t = 0; t < tables; t++)
            {
                cancellationToken.ThrowIfCancellationRequested();
                var spanStart = t * SpanBytes;
                var spanLength = Math.Min(SpanBytes, disk.Capacity - spanStart);
                var grainsHere = (int)((spanLength + GrainBytes - 1) / GrainBytes);
                var hasData = new bool[grainsHere];
                await MarkDataAsync(disk, spanStart, spanLength, hasData, cancellationToken).ConfigureAwait(false);
                await ReadMarkedAsync(disk, spanStart, spanLength, hasData, span, cancellationToken).ConfigureAwait(false);

                var compressed = new byte[grainsHere][];
                Parallel.For(0, grainsHere, new ParallelOptions { CancellationToken = cancellationToken }, g =>
                {
                    if (hasData[g] && span.AsSpan(g * GrainBytes, GrainBytes).IndexOfAnyExcept((byte)0) >= 0)
                    {
                        compressed[g] = Compress(span.AsSpan(g * GrainBytes, GrainBytes), compressionLevel);
                    }
                });

                Array.Clear(table);
                var any = false;
                for (var g = 0; g < grainsHere; g++)
                {
                    if (compressed[g] is not { } data)
                    {
                        continue;
                    }

                    var lba = (spanStart / SectorSize) + ((long)g * GrainSectors);
                    table[g] = checked((uint)writer.Sector);
                    var marker = new byte[GrainMarkerHeaderSize];
                    BinaryPrimitives.WriteInt64LittleEndian(marker, lba);
                    BinaryPrimitives.WriteInt32LittleEndian(marker.AsSpan(8), data.Length);
                    await writer.WriteAsync(marker, cancellationToken).ConfigureAwait(false);
                    await writer.WriteAsync(data, cancellationToken).ConfigureAwait(false);
                    await writer.PadToSectorAsync(0, cancellationToken).ConfigureAwait(false);
                    populated += Math.Min(GrainBytes, disk.Capacity - (spanStart + ((long)g * GrainBytes)));
                    written++;
                    any = true;
                }

                if (any)
                {
                    await writer.WriteAsync(Marker(GrainTableSectors, MarkerGrainTable), cancellationToken).ConfigureAwait(false);
                    directory[t] = checked((uint)writer.Sector);
                    var bytes = new byte[GrainTableSectors * SectorSize];
                    for (var i = 0; i < GrainTableEntries; i++)
                    {
                        BinaryPrimitives.WriteUInt32LittleEndian(bytes.AsSpan(i * 4), table[i]);
                    }

                    await writer.WriteAsync(bytes, cancellationToken).ConfigureAwait(false);
                }

                progress?.Report(spanStart + spanLength);
            }
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(span);
        }

        var directorySectors = (directory.Length * 4 + SectorSize - 1) / SectorSize;
        await writer.WriteAsync(Marker(directorySectors, MarkerGrainDirectory), cancellationToken).ConfigureAwait(false);
        var directoryOffset = writer.Sector;
        var gd = new byte[directorySectors * SectorSize];
        for (var i = 0; i < directory.Length; i++)
        {
            BinaryPrimitives.WriteUInt32LittleEndian(gd.AsSpan(i * 4), directory[i]);
        }

        await writer.WriteAsync(gd, cancellationToken).ConfigureAwait(false);
        await writer.WriteAsync(Marker(1, MarkerFooter), cancellationToken).ConfigureAwait(false);
        await writer.WriteAsync(Header(capacitySectors, (ulong)directoryOffset), cancellationToken).ConfigureAwait(false);
        await writer.WriteAsync(Marker(0, MarkerEndOfStream), cancellationToken).ConfigureAwait(false);
        return new VmdkWriteResult(writer.Position, disk.Capacity, populated, written);
    }

    private static async Task MarkDataAsync(IVirtualDisk disk, long start, long length, bool[] hasData, CancellationToken cancellationToken)
    {
        await foreach (var extent in disk.GetExtentsAsync(start, length, cancellationToken).ConfigureAwait(false))
        {
            if (extent.Kind != DiskExtentKind.Data || extent.Length <= 0)
            {
                continue;
            }

            var first = (int)((extent.Offset - start) / GrainBytes);
            var last = (int)((extent.End - 1 - start) / GrainBytes);
            for (var g = Math.Max(0, first); g <= Math.Min(last, hasData.Length - 1); g++)
            {
                hasData[g] = true;
            }
        }
    }

    private static async Task ReadMarkedAsync(IVirtualDisk disk, long start, long length, bool[] hasData, byte[] span, CancellationToken cancellationToken)
    {
        var g = 0;
        while (g < hasData.Length)
        {
            if (!hasData[g])
            {
                g++;
                continue;
            }

            var runStart = g;
            while (g < hasData.Length && hasData[g])
            {
                g++;
            }

            var offset = (long)runStart * GrainBytes;
            var bytes = (int)Math.Min((long)(g - runStart) * GrainBytes, length - offset);
            await disk.ReadAsync(start + offset, span.AsMemory((int)offset, bytes), cancellationToken).ConfigureAwait(false);
            // The last grain of a disk that ends inside it reads as zeroes past the end.
            span.AsSpan((int)offset + bytes, ((g - runStart) * GrainBytes) - bytes).Clear();
        }
    }

    private static byte[] Compress(ReadOnlySpan<byte> grain, CompressionLevel level)
    {
        using var buffer = new MemoryStream(GrainBytes / 2);
        using (var zlib = new ZLibStream(buffer, level, leaveOpen: true))
        {
            zlib.Write(grain);
        }

        return buffer.ToArray();
    }

    private static byte[] Header(long capacitySectors, ulong directoryOffset)
    {
        var h = new byte[SectorSize];
        BinaryPrimitives.WriteUInt32LittleEndian(h, SparseMagic);
        BinaryPrimitives.WriteUInt32LittleEndian(h.AsSpan(4), SparseVersion);
        BinaryPrimitives.WriteUInt32LittleEndian(h.AsSpan(8), FlagValidNewlineTest | FlagCompressedGrains | FlagMarkers);
        BinaryPrimitives.WriteInt64LittleEndian(h.AsSpan(12), capacitySectors);
        BinaryPrimitives.WriteInt64LittleEndian(h.AsSpan(20), GrainSectors);
        BinaryPrimitives.WriteInt64LittleEndian(h.AsSpan(28), 1);
        BinaryPrimitives.WriteInt64LittleEndian(h.AsSpan(36), DescriptorSectors);
        BinaryPrimitives.WriteUInt32LittleEndian(h.AsSpan(44), GrainTableEntries);
        BinaryPrimitives.WriteUInt64LittleEndian(h.AsSpan(48), 0);
        BinaryPrimitives.WriteUInt64LittleEndian(h.AsSpan(56), directoryOffset);
        BinaryPrimitives.WriteInt64LittleEndian(h.AsSpan(64), OverheadSectors);
        h[72] = 0;
        h[73] = (byte)'\n';
        h[74] = (byte)' ';
        h[75] = (byte)'\r';
        h[76] = (byte)'\n';
        BinaryPrimitives.WriteUInt16LittleEndian(h.AsSpan(77), CompressionDeflate);
        return h;
    }

    private static byte[] Marker(long sectors, uint type)
    {
        var m = new byte[SectorSize];
        BinaryPrimitives.WriteInt64LittleEndian(m, sectors);
        BinaryPrimitives.WriteUInt32LittleEndian(m.AsSpan(12), type);
        return m;
    }

    private static string Descriptor(long capacitySectors, string fileName)
    {
        var cylinders = Math.Min(capacitySectors / (16 * 63), 16383);
        var cid = (uint)Random.Shared.Next(1, int.MaxValue);
        return string.Create(CultureInfo.InvariantCulture, $"""
            # Disk DescriptorFile
            version=1
            CID={cid:x8}
            parentCID={NoParentCid:x8}
            createType="streamOptimized"

            # Extent description
            RW {capacitySectors} SPARSE "{fileName.Replace("\"", "", StringComparison.Ordinal)}"

            # The Disk Data Base
            #DDB

            ddb.virtualHWVersion = "4"
            ddb.geometry.cylinders = "{cylinders}"
            ddb.geometry.heads = "16"
            ddb.geometry.sectors = "63"
            ddb.adapterType = "lsilogic"

            """).Replace("\r\n", "\n", StringComparison.Ordinal);
    }

    /// <summary>Counts what was written and pads to sector boundaries.</summary>
    private sealed class SectorWriter(Stream output)
    {
        private static readonly byte[] Zeroes = new byte[GrainBytes];

        public long Position { get; private set; }

        public long Sector => Position / SectorSize;

        public async ValueTask WriteAsync(ReadOnlyMemory<byte> data, CancellationToken cancellationToken)
        {
            await output.WriteAsync(data, cancellationToken).ConfigureAwait(false);
            Position += data.Length;
        }

        /// <summary>Pads with zeroes to the next sector boundary, or to <paramref name="minimumSector"/> if that is further.</summary>
        public async ValueTask PadToSectorAsync(long minimumSector, CancellationToken cancellationToken)
        {
            var target = Math.Max(minimumSector * SectorSize, (Position + SectorSize - 1) / SectorSize * SectorSize);
            while (Position < target)
            {
                await WriteAsync(Zeroes.AsMemory(0, (int)Math.Min(Zeroes.Length, target - Position)), cancellationToken).ConfigureAwait(false);
            }
        }
    }
}
