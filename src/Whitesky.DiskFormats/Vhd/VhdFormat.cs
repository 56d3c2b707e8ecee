namespace Whitesky.DiskFormats.Vhd;

/// <summary>VHD images (fixed, dynamic, differencing), recognised by the footer's cookie at the end (or its copy at the start).</summary>
internal sealed class VhdFormat : IDiskFormat
{
    public string Name => "vhd";

    public bool Probe(ReadOnlySpan<byte> head, ReadOnlySpan<byte> tail, long length) =>
        VhdFooter.HasCookie(head)
        || (tail.Length >= VhdSpec.FooterLength && VhdFooter.HasCookie(tail[^VhdSpec.FooterLength..]))
        || (tail.Length >= VhdSpec.OldFooterLength && VhdFooter.HasCookie(tail[^VhdSpec.OldFooterLength..]));

    public async Task<IVirtualDisk> OpenAsync(IRandomAccessSource source, DiskOpenContext context, bool ownsSource, CancellationToken cancellationToken)
    {
        var disk = await VhdDisk.OpenAsync(source, context, cancellationToken).ConfigureAwait(false);
        disk.OwnsSource = ownsSource;
        return disk;
    }
}
