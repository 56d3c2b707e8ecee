using System.Buffers.Binary;

namespace Whitesky.DiskFormats.Qcow2;

/// <summary>qcow2 images (versions 2 and 3), recognised by their magic.</summary>
internal sealed class Qcow2Format : IDiskFormat
{
    public string Name => "qcow2";

    public bool Probe(ReadOnlySpan<byte> head, ReadOnlySpan<byte> tail, long length) =>
        head.Length >= 8 && BinaryPrimitives.ReadUInt32BigEndian(head) == Qcow2Spec.Magic;

    public async Task<IVirtualDisk> OpenAsync(IRandomAccessSource source, DiskOpenContext context, bool ownsSource, CancellationToken cancellationToken)
    {
        var disk = await Qcow2Disk.OpenAsync(source, context, cancellationToken).ConfigureAwait(false);
        disk.OwnsSource = ownsSource;
        return disk;
    }
}
