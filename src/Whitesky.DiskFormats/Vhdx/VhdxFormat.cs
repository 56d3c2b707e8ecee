namespace Whitesky.DiskFormats.Vhdx;

/// <summary>
/// VHDX (fixed, dynamic, differencing), recognised by its 'vhdxfile' identifier. An active log is replayed in
/// memory only; parents are opened through the caller's resolver and must carry the linkage the child recorded.
/// </summary>
internal sealed class VhdxFormat : IDiskFormat
{
    public string Name => "vhdx";

    public bool Probe(ReadOnlySpan<byte> head, ReadOnlySpan<byte> tail, long length) => VhdxHeader.HasFileSignature(head);

    public async Task<IVirtualDisk> OpenAsync(IRandomAccessSource source, DiskOpenContext context, bool ownsSource, CancellationToken cancellationToken)
    {
        var disk = await VhdxDisk.OpenAsync(source, context, cancellationToken).ConfigureAwait(false);
        disk.OwnsSource = ownsSource;
        return disk;
    }
}
