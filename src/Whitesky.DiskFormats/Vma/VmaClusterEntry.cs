using System.Numerics;

namespace Whitesky.DiskFormats.Vma;

/// <summary>One cluster of an extent: which device, which cluster, and which of its 4 KiB blocks follow (bit i = block i).</summary>
internal readonly record struct VmaClusterEntry(VmaDevice Device, uint Cluster, ushort Mask)
{
    /// <summary>How many 4 KiB blocks of this cluster the extent stores.</summary>
    public int BlockCount => BitOperations.PopCount(Mask);

    public long DeviceOffset => (long)Cluster * VmaSpec.ClusterSize;
}
