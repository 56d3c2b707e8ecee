namespace Whitesky.DiskFormats.Vma;

/// <summary>
/// The clusters seen so far, per device: catches a cluster stored twice, and clusters never stored (a truncated archive:
/// vzdump writes every cluster of every device, all-zero ones with an empty mask). Pages of bits are allocated as
/// clusters arrive, so memory follows the archive's content, not the sizes its header claims.
/// </summary>
internal sealed class VmaClusterSet
{
    private const int PageBits = 12;
    private const int ClustersPerPage = 1 << PageBits;

    private readonly Dictionary<long, ulong[]> _pages = [];
    private readonly long[] _counts = new long[VmaSpec.MaxDevices];

    /// <summary>Records a cluster; false when it was already recorded.</summary>
    public bool Add(int deviceId, uint cluster)
    {
        var key = ((long)deviceId << 32) | (cluster >> PageBits);
        if (!_pages.TryGetValue(key, out var page))
        {
            page = new ulong[ClustersPerPage / 64];
            _pages.Add(key, page);
        }

        var bit = (int)(cluster & (ClustersPerPage - 1));
        ref var word = ref page[bit >> 6];
        var flag = 1UL << (bit & 63);
        if ((word & flag) != 0)
        {
            return false;
        }

        word |= flag;
        _counts[deviceId]++;
        return true;
    }

    /// <summary>The first cluster of <paramref name="device"/> never recorded, or null when all were.</summary>
    public long? FirstMissing(VmaDevice device)
    {
        var clusters = (device.Size + VmaSpec.ClusterSize - 1) / VmaSpec.ClusterSize;
        if (_counts[device.Id] == clusters)
        {
            return null;
        }

        for (long cluster = 0; cluster < clusters; cluster++)
        {
            var key = ((long)device.Id << 32) | (cluster >> PageBits);
            if (!_pages.TryGetValue(key, out var page))
            {
                return cluster;
            }

            var bit = (int)(cluster & (ClustersPerPage - 1));
            if ((page[bit >> 6] & (1UL << (bit & 63))) == 0)
            {
                return cluster;
            }
        }

        return null;
    }

    /// <summary>Throws when a device other than vmstate (which vzdump writes only as far as it goes) misses a cluster.</summary>
    public void CheckComplete(VmaHeader header, string image, long end)
    {
        foreach (var device in header.Devices)
        {
            if (device.Name != VmaSpec.VmStateDevice && FirstMissing(device) is { } missing)
            {
                throw new DiskFormatException(image, "VMA archive", end,
                    $"the archive ends without cluster {missing} of device {device.Name} (truncated?)");
            }
        }
    }
}
