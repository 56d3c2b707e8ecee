namespace Whitesky.DiskFormats.Vma;

/// <summary>
/// A Proxmox VMA archive in a file or other seekable source (uncompressed: a <c>.vma.gz</c> or <c>.vma.zst</c> has to be
/// decompressed first, or read with <see cref="VmaArchive"/>). Opening walks every extent header once (512 bytes per
/// 59 clusters, checked like <see cref="VmaArchive"/> checks them) and keeps where each cluster's blocks are, so
/// each device then reads as an <see cref="IVirtualDisk"/> with an allocation map.
/// </summary>
public sealed class VmaImage : IAsyncDisposable
{
    private readonly IRandomAccessSource _source;
    private readonly bool _ownsSource;
    private readonly Dictionary<int, VmaIndexEntry[]> _index;

    private VmaImage(IRandomAccessSource source, bool ownsSource, VmaHeader header, Dictionary<int, VmaIndexEntry[]> index)
    {
        _source = source;
        _ownsSource = ownsSource;
        Header = header;
        _index = index;
    }

    /// <summary>The archive's header: uuid, time, devices, config files.</summary>
    public VmaHeader Header { get; }

    /// <summary>Opens and indexes the archive file at <paramref name="path"/>.</summary>
    /// <exception cref="DiskFormatException">The file is not a VMA archive, or is corrupt or truncated.</exception>
    public static Task<VmaImage> OpenAsync(string path, CancellationToken cancellationToken = default) =>
        FileSource.OpenOwnedAsync(path, source => OpenAsync(source, ownsSource: true, cancellationToken));

    /// <summary>Opens and indexes the archive in <paramref name="source"/>, which stays the caller's.</summary>
    /// <exception cref="DiskFormatException">The source is not a VMA archive, or is corrupt or truncated.</exception>
    public static Task<VmaImage> OpenAsync(IRandomAccessSource source, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(source);
        return OpenAsync(source, ownsSource: false, cancellationToken);
    }

    /// <summary>
    /// <paramref name="device"/> as a virtual disk. It reads through this image's source: use it only while the
    /// image is open (disposing the disk does not dispose the image).
    /// </summary>
    public IVirtualDisk OpenDevice(VmaDevice device)
    {
        ArgumentNullException.ThrowIfNull(device);
        if (Header.DeviceById(device.Id) != device)
        {
            throw new ArgumentException($"{_source.Name}: device {device.Name} is not one of this archive's ({Header.DescribeDevices()}).", nameof(device));
        }

        return new VmaDisk(_source, ownsSource: false, device, _index[device.Id]);
    }

    /// <summary>Disposes the source if the image opened it.</summary>
    public async ValueTask DisposeAsync()
    {
        if (_ownsSource)
        {
            await _source.DisposeAsync().ConfigureAwait(false);
        }
    }

    /// <summary>The one device of a single-device archive as a disk that owns the source when <paramref name="ownsSource"/>.</summary>
    internal IVirtualDisk OpenOnlyDevice(bool ownsSource)
    {
        if (Header.Devices.Count != 1)
        {
            throw new DiskFormatException(
                $"{_source.Name}: a VMA archive with {Header.Devices.Count} devices ({Header.DescribeDevices()}); open one of them with VmaImage.OpenDevice (whitesky-migrate: --device NAME|ID).");
        }

        var device = Header.Devices[0];
        return new VmaDisk(_source, ownsSource, device, _index[device.Id]);
    }

    internal static async Task<VmaImage> OpenAsync(IRandomAccessSource source, bool ownsSource, CancellationToken cancellationToken)
    {
        var name = source.Name;
        var fixedPart = new byte[(int)Math.Min(VmaSpec.FixedHeaderSize, source.Length)];
        var read = await source.ReadAsync(0, fixedPart, cancellationToken).ConfigureAwait(false);
        var size = VmaHeader.ReadSize(fixedPart.AsSpan(0, read), name);
        if (size > source.Length)
        {
            throw new DiskFormatException(name, "VMA header", source.Length, $"the file ends inside the {size}-byte header (truncated)");
        }

        var data = new byte[size];
        read = await source.ReadAsync(0, data, cancellationToken).ConfigureAwait(false);
        if (read < size)
        {
            throw new DiskFormatException(name, "VMA header", read, $"the file ends inside the {size}-byte header (truncated)");
        }

        var header = VmaHeader.Parse(data, name);
        var lists = header.Devices.ToDictionary(d => d.Id, _ => new List<VmaIndexEntry>());
        var seen = new VmaClusterSet();
        var entries = new List<VmaClusterEntry>(VmaSpec.BlocksPerExtent);
        var extent = new byte[VmaSpec.ExtentHeaderSize];
        long offset = size;
        while (offset < source.Length)
        {
            read = await source.ReadAsync(offset, extent, cancellationToken).ConfigureAwait(false);
            if (read < extent.Length)
            {
                throw new DiskFormatException(name, "VMA extent header", offset, $"the file ends {read} bytes into the extent header (truncated)");
            }

            var length = VmaExtentHeader.Parse(extent, header, name, offset, entries);
            var dataOffset = offset + extent.Length;
            if (length > source.Length - dataOffset)
            {
                throw new DiskFormatException(name, "VMA extent", offset, $"the file ends {source.Length - dataOffset} bytes into the extent's {length} bytes of blocks (truncated)");
            }

            foreach (var entry in entries)
            {
                if (!seen.Add(entry.Device.Id, entry.Cluster))
                {
                    throw new DiskFormatException(name, "VMA extent", offset, $"cluster {entry.Cluster} of device {entry.Device.Name} is stored twice");
                }

                lists[entry.Device.Id].Add(new VmaIndexEntry(entry.Cluster, entry.Mask, dataOffset));
                dataOffset += (long)entry.BlockCount * VmaSpec.BlockSize;
            }

            offset += extent.Length + length;
        }

        seen.CheckComplete(header, name, offset);
        var index = new Dictionary<int, VmaIndexEntry[]>();
        foreach (var (id, list) in lists)
        {
            var array = list.ToArray();
            Array.Sort(array, static (a, b) => a.Cluster.CompareTo(b.Cluster));
            index[id] = array;
        }

        return new VmaImage(source, ownsSource, header, index);
    }
}
