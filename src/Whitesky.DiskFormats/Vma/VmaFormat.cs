namespace Whitesky.DiskFormats.Vma;

/// <summary>
/// Proxmox vzdump archives (<c>.vma</c>) through <see cref="DiskImage.OpenAsync(string, DiskImageOptions?, CancellationToken)"/>:
/// an archive with one device opens as that device; one with several is refused with a message naming them (pick one
/// with <see cref="VmaImage.OpenDevice"/>), since taking the first would silently leave the others behind.
/// </summary>
internal sealed class VmaFormat : IDiskFormat
{
    public string Name => "vma";

    public bool Probe(ReadOnlySpan<byte> head, ReadOnlySpan<byte> tail, long length) => VmaHeader.HasMagic(head);

    public async Task<IVirtualDisk> OpenAsync(IRandomAccessSource source, DiskOpenContext context, bool ownsSource, CancellationToken cancellationToken)
    {
        var image = await VmaImage.OpenAsync(source, ownsSource: false, cancellationToken).ConfigureAwait(false);
        return image.OpenOnlyDevice(ownsSource);
    }
}
