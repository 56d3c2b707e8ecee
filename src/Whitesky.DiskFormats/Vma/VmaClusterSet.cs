using System.Runtime.InteropServices;

namespace Whitesky.DiskFormats.Vma;

/// <summary>
/// The clusters seen so far, per device: catches a cluster stored twice, and clusters never stored (a truncated archive:
/// vzdump writes every cluster of every device, all-zero ones with an empty mask). Words of 64 bits are added as
/// clusters arrive, so memory follows the archive's content (a few bytes per 8-byte cluster entry at worst), not
/// the device sizes its header claims.
/// </summary>
internal sealed class VmaClusterSet
{
    private readonly Dictionary<long, ulong> _words = [];
    private readonly long[] _counts = new long[VmaSpec.MaxDevices];

    /// <summary>Records a cluster; false when it was already recorded.</summary>
    public bool Add(int deviceId, uint cluster)
    {
        ref var word = ref CollectionsMarshal.GetValueRefOrAddDefault(_words, Key(deviceId, cluster), out _);
        var flag = 1UL << (int)(cluster & 63);
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

        // Every cluster before the first missing one is in the archive, so this walk is bounded by its content.
        for (long cluster = 0; cluster < clusters; cluster++)
        {
            if (!_words.TryGetValue(Key(device.Id, (uint)cluster), out var word) || (word & (1UL << (int)(cluster & 63))) == 0)
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

    private static long Key(int deviceId, uint cluster) => ((long)deviceId << 32) | (cluster >> 6);
}
