namespace Whitesky.DiskFormats;

/// <summary>What an image is: format, variant, sizes, layout, and its chain of parents.</summary>
public sealed record DiskInfo
{
    /// <summary>The format: <c>raw</c>, <c>qcow2</c>, <c>vmdk</c>, ...</summary>
    public required string Format { get; init; }

    /// <summary>The variant: qcow2 <c>v2</c>/<c>v3</c>, VMDK <c>monolithicSparse</c>, <c>streamOptimized</c>, ...</summary>
    public string? Subformat { get; init; }

    /// <summary>The image's file or name.</summary>
    public required string Name { get; init; }

    /// <summary>Size of the virtual disk in bytes.</summary>
    public required long VirtualSize { get; init; }

    /// <summary>Bytes the image file occupies (its length, or allocated blocks where known).</summary>
    public long FileSize { get; init; }

    /// <summary>
    /// Bytes holding data in this image or its parents, counted from metadata; null from
    /// <see cref="IVirtualDisk.Describe"/>, filled by <see cref="DiskImage.DescribeAsync"/>.
    /// </summary>
    public long? AllocatedBytes { get; init; }

    /// <summary>Cluster or grain size in bytes, where the format has one.</summary>
    public int? ClusterSize { get; init; }

    /// <summary>Compression in use: <c>zlib</c>, <c>zstd</c>, or null.</summary>
    public string? Compression { get; init; }

    /// <summary>Notable features (for example <c>extended_l2</c>, <c>data_file</c>, <c>zeroed_grain</c>).</summary>
    public IReadOnlyList<string> Features { get; init; } = [];

    /// <summary>The parent image, for differencing formats and backing chains.</summary>
    public DiskInfo? Parent { get; init; }
}
