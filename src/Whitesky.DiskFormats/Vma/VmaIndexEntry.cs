using System.Numerics;

namespace Whitesky.DiskFormats.Vma;

/// <summary>Where a cluster's present blocks are in the archive file: they follow each other from <paramref name="DataOffset"/>.</summary>
internal readonly record struct VmaIndexEntry(uint Cluster, ushort Mask, long DataOffset)
{
    /// <summary>The archive offset of block <paramref name="block"/> (which must be present).</summary>
    public long BlockOffset(int block) => DataOffset + ((long)BitOperations.PopCount((uint)Mask & ((1u << block) - 1)) * VmaSpec.BlockSize);

    public bool Has(int block) => (Mask & (1 << block)) != 0;
}
