namespace Whitesky.DiskFormats.Vdi;

/// <summary>VirtualBox VDI images (static and dynamic), recognised by the signature at offset 0x40.</summary>
internal sealed class VdiFormat : IDiskFormat
{
    public string Name => "vdi";

    public bool Probe(ReadOnlySpan<byte> head, ReadOnlySpan<byte> tail, long length) => VdiHeader.HasSignature(head);

    public async Task<IVirtualDisk> OpenAsync(IRandomAccessSource source, DiskOpenContext context, bool ownsSource, CancellationToken cancellationToken)
    {
        var disk = await VdiDisk.OpenAsync(source, cancellationToken).ConfigureAwait(false);
        disk.OwnsSource = ownsSource;
        return disk;
    }
}
