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
}
