namespace Whitesky.DiskFormats;

/// <summary>Every format decoder, most specific first. A new format adds itself here.</summary>
internal static class FormatRegistry
{
    public static IEnumerable<IDiskFormat> All =>
    [
        new Qcow2.Qcow2Format(),
        new Vmdk.VmdkFormat(),
        new Vhdx.VhdxFormat(),
        new Vma.VmaFormat(),
        new Vdi.VdiFormat(),
        new Vhd.VhdFormat(), // recognised by its footer only: after every format with a magic at the start
        new Raw.RawFormat(),
    ];
}
