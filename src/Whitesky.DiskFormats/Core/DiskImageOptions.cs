namespace Whitesky.DiskFormats;

/// <summary>How <see cref="DiskImage"/> opens an image.</summary>
public sealed record DiskImageOptions
{
    /// <summary>
    /// The format the caller knows the image has (<c>raw</c>, <c>qcow2</c>, <c>vmdk</c>, ...). When set, the
    /// content is not probed: a disk the caller says is raw is never taken for anything else.
    /// </summary>
    public string? Format { get; init; }

    /// <summary>Which other files (parents, extents, data files) may be opened. Default: <see cref="SameDirectoryResolver"/>.</summary>
    public IDiskImageResolver Resolver { get; init; } = SameDirectoryResolver.Instance;

    /// <summary>Longest chain of parents followed. Default 16.</summary>
    public int MaxChainDepth { get; init; } = 16;

    /// <summary>
    /// Open the image's own layer only: its parent (backing file, VMDK/VHD/VHDX parent) is not opened, and what
    /// the image itself does not hold reads as zeroes and is reported <see cref="DiskExtentKind.Unallocated"/>.
    /// This is how to see what a snapshot or differencing disk changed. Extent files and data files are still opened.
    /// </summary>
    public bool LayerOnly { get; init; }
}
