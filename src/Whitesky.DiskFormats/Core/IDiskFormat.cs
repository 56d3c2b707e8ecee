namespace Whitesky.DiskFormats;

/// <summary>One format decoder: recognises its images and opens them.</summary>
internal interface IDiskFormat
{
    /// <summary>The format's name (<c>qcow2</c>, <c>vmdk</c>, <c>raw</c>).</summary>
    string Name { get; }

    /// <summary>
    /// Whether an image is this format's, from its first bytes (<paramref name="head"/>, up to 4 KiB) and its
    /// last bytes (<paramref name="tail"/>, up to 512; a fixed VHD has only a footer). Either is shorter for a small file.
    /// </summary>
    bool Probe(ReadOnlySpan<byte> head, ReadOnlySpan<byte> tail, long length);

    /// <summary>Opens the image. When <paramref name="ownsSource"/>, disposing the disk disposes the source.</summary>
    Task<IVirtualDisk> OpenAsync(IRandomAccessSource source, DiskOpenContext context, bool ownsSource, CancellationToken cancellationToken);
}
