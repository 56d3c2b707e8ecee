namespace Whitesky.DiskFormats;

/// <summary>Every format decoder, most specific first. A new format adds itself here.</summary>
internal static class FormatRegistry
{
    public static IEnumerable<IDiskFormat> All =>
    [
        new Qcow2.Qcow2Format(),
        new Vmdk.VmdkFormat(),
        new Vma.VmaFormat(),
        new Raw.RawFormat(),
    ];
}
