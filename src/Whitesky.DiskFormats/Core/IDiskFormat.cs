namespace Whitesky.DiskFormats;

/// <summary>One format decoder: recognises its images and opens them.</summary>
internal interface IDiskFormat
{
    /// <summary>The format's name (<c>qcow2</c>, <c>vmdk</c>, <c>raw</c>).</summary>
    string Name { get; }

    /// <summary>Whether the first bytes of an image (up to 4 KiB; fewer for a small file) are this format's.</summary>
    bool Probe(ReadOnlySpan<byte> head, long length);

    /// <summary>Opens the image. When <paramref name="ownsSource"/>, disposing the disk disposes the source.</summary>
    Task<IVirtualDisk> OpenAsync(IRandomAccessSource source, DiskOpenContext context, bool ownsSource, CancellationToken cancellationToken);
}
