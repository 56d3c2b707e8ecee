using System.Buffers.Binary;
using System.Globalization;
using System.Runtime.CompilerServices;

namespace Whitesky.DiskFormats.Vdi;

/// <summary>A VDI image: a block map sends each block to its place in the data area, or says it is free or zero.</summary>
internal sealed class VdiDisk : IVirtualDisk
{
    private readonly IRandomAccessSource _source;
    private readonly VdiHeader _header;
    private readonly uint[] _map;
    private readonly int _blockSize;

    private VdiDisk(IRandomAccessSource source, VdiHeader header, uint[] map)
    {
        _source = source;
        _header = header;
        _map = map;
        _blockSize = header.BlockSize;
    }

    public bool OwnsSource { get; set; }

    public long Capacity => _header.DiskSize;

    public int LogicalSectorSize => VdiSpec.SectorSize;

    public IVirtualDisk? Parent => null;

    private string Name => _source.Name;

    public static async Task<VdiDisk> OpenAsync(IRandomAccessSource source, CancellationToken cancellationToken)
    {
        var name = source.Name;
        var head = new byte[(int)Math.Min(VdiSpec.HeaderEnd, source.Length)];
        var got = await source.ReadAsync(0, head, cancellationToken).ConfigureAwait(false);
        var header = VdiHeader.Parse(name, head.AsSpan(0, got), source.Length);

        // Only the entries the disk's size needs; the header's count was checked against the file.
        var needed = (int)((header.DiskSize + header.BlockSize - 1) / header.BlockSize);
        var raw = new byte[4L * needed];
        var read = await source.ReadAsync(header.BlockMapOffset, raw, cancellationToken).ConfigureAwait(false);
        if (read < raw.Length)
        {
            throw new DiskFormatException(name, "block map", header.BlockMapOffset + read, "the file ended inside the map");
        }

        var map = new uint[needed];
        for (var i = 0; i < map.Length; i++)
        {
            map[i] = BinaryPrimitives.ReadUInt32LittleEndian(raw.AsSpan(i * 4));
        }

        return new VdiDisk(source, header, map);
    }

    /// <summary>The kind of the guest range at <paramref name="guest"/> up to the end of its block, and where its data is.</summary>
    private (DiskExtentKind Kind, long Length, long Host) Resolve(long guest, long maxLength)
    {
        var block = (int)(guest / _blockSize);
        var inBlock = guest % _blockSize;
        var length = Math.Min(maxLength, _blockSize - inBlock);
        var entry = _map[block];
        switch (entry)
        {
            case VdiSpec.BlockFree:
                return (DiskExtentKind.Unallocated, length, 0);
            case VdiSpec.BlockZero:
                return (DiskExtentKind.Zero, length, 0);
        }

        var host = _header.DataOffset + ((long)entry * _blockSize);
        var needed = Math.Min(_blockSize, Capacity - ((long)block * _blockSize));
        if (host + needed > _source.Length)
        {
            throw new DiskFormatException(Name, "block map", _header.BlockMapOffset + (4L * block), Inv($"block {block} is stored as data block {entry} (offset {host}), past the end of the file ({_source.Length} bytes)"));
        }

        return (DiskExtentKind.Data, length, host + inBlock);
    }

    public async ValueTask ReadAsync(long offset, Memory<byte> buffer, CancellationToken cancellationToken = default)
    {
        DiskRange.Check(this, offset, buffer.Length);
        var end = offset + buffer.Length;
        var position = offset;
        long runGuest = offset, runHost = -1, runLength = 0;
        while (position < end)
        {
            var (kind, length, host) = Resolve(position, end - position);
            if (kind == DiskExtentKind.Data)
            {
                if (runLength > 0 && runHost + runLength == host) // a run of guest-contiguous blocks stored one after another
                {
                    runLength += length;
                }
                else
                {
                    await FlushAsync(runGuest, runHost, runLength, offset, buffer, cancellationToken).ConfigureAwait(false);
                    (runGuest, runHost, runLength) = (position, host, length);
                }
            }
            else
            {
                await FlushAsync(runGuest, runHost, runLength, offset, buffer, cancellationToken).ConfigureAwait(false);
                runLength = 0;
                buffer.Span.Slice((int)(position - offset), (int)length).Clear();
            }

            position += length;
        }

        await FlushAsync(runGuest, runHost, runLength, offset, buffer, cancellationToken).ConfigureAwait(false);
    }

    private async ValueTask FlushAsync(long guest, long host, long length, long bufferOffset, Memory<byte> buffer, CancellationToken cancellationToken)
    {
        if (length == 0)
        {
            return;
        }

        var slice = buffer.Slice((int)(guest - bufferOffset), (int)length);
        var read = await _source.ReadAsync(host, slice, cancellationToken).ConfigureAwait(false);
        if (read < slice.Length)
        {
            throw new DiskFormatException(Name, "data block", host + read, Inv($"the file ended inside the data of block {(guest + read) / _blockSize} (truncated image?)"));
        }
    }

    public async IAsyncEnumerable<DiskExtent> GetExtentsAsync(long offset, long length, [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        DiskRange.Check(this, offset, length);
        var end = offset + length;
        var position = offset;
        DiskExtent? pending = null;
        while (position < end)
        {
            cancellationToken.ThrowIfCancellationRequested();
            var (kind, run, _) = Resolve(position, end - position);
            if (pending is { } p && p.Kind == kind)
            {
                pending = p with { Length = p.Length + run };
            }
            else
            {
                if (pending is { } done)
                {
                    yield return done;
                }

                pending = new DiskExtent(position, run, kind);
            }

            position += run;
        }

        if (pending is { } last)
        {
            yield return last;
        }

        await Task.CompletedTask.ConfigureAwait(false);
    }

    public DiskInfo Describe() => new()
    {
        Format = "vdi",
        Subformat = _header.ImageType == VdiSpec.ImageTypeStatic ? "static" : "dynamic",
        Name = Name,
        VirtualSize = Capacity,
        FileSize = _source.Length,
        ClusterSize = _blockSize,
    };

    public async ValueTask DisposeAsync()
    {
        if (OwnsSource)
        {
            await _source.DisposeAsync().ConfigureAwait(false);
        }
    }

    private static string Inv(FormattableString text) => text.ToString(CultureInfo.InvariantCulture);
}
