using System.IO.Compression;

namespace Whitesky.DiskFormats.Containers;

/// <summary>Recognises the wrappers an image arrives in from its first bytes, and unwraps the compressed ones.</summary>
internal static class StreamMagic
{
    public const int ProbeLength = TarConstants.BlockSize;

    private static ReadOnlySpan<byte> Gzip => [0x1f, 0x8b, 0x08];
    private static ReadOnlySpan<byte> Zstd => [0x28, 0xb5, 0x2f, 0xfd];
    private static ReadOnlySpan<byte> Xz => [0xfd, (byte)'7', (byte)'z', (byte)'X', (byte)'Z', 0x00];
    private static ReadOnlySpan<byte> Bzip2 => "BZh"u8;
    private static ReadOnlySpan<byte> Lzop => [0x89, (byte)'L', (byte)'Z', (byte)'O'];
    private static ReadOnlySpan<byte> Qcow2 => [(byte)'Q', (byte)'F', (byte)'I', 0xfb];
    private static ReadOnlySpan<byte> VmdkDescriptor => "# Disk DescriptorFile"u8;

    /// <summary>The compression of a stream starting with <paramref name="head"/>: <c>gzip</c>, <c>zstd</c>, <c>xz</c>, or null.</summary>
    public static string? Compression(ReadOnlySpan<byte> head, string name)
    {
        if (head.StartsWith(Gzip))
        {
            return "gzip";
        }

        if (head.StartsWith(Zstd))
        {
            return "zstd";
        }

        if (head.StartsWith(Xz))
        {
            return "xz";
        }

        if (head.StartsWith(Bzip2))
        {
            throw new DiskFormatException(name, "stream", 0, "it is bzip2-compressed, which this reader does not decompress (gzip, zstd and xz it does)");
        }

        if (head.StartsWith(Lzop))
        {
            throw new DiskFormatException(name, "stream", 0, "it is compressed with lzo (vzdump's .vma.lzo), which this reader does not decompress (lzop -d it first, or back up with gzip or zstd)");
        }

        return null;
    }

    /// <summary>A decompressing stream over <paramref name="compressed"/> (left open).</summary>
    public static PeekStream Decompress(PeekStream compressed, string compression) => compression switch
    {
        "gzip" => new PeekStream(new GZipStream(compressed, CompressionMode.Decompress, leaveOpen: true), compressed.Name, ownsInner: true, decoder: "gzip"),
        "zstd" => new PeekStream(new ZstdSharp.DecompressionStream(compressed, 0, checkEndOfStream: true, leaveOpen: true), compressed.Name, ownsInner: true, decoder: "zstd"),
        "xz" => new PeekStream(new SharpCompress.Compressors.Xz.XZStream(compressed), compressed.Name, ownsInner: true, decoder: "xz"),
        _ => throw new ArgumentOutOfRangeException(nameof(compression), compression, "not a compression"),
    };

    /// <summary>Refuses images that only random access can decode, naming what to use instead.</summary>
    public static void RefuseRandomAccessOnly(ReadOnlySpan<byte> head, string name)
    {
        if (head.StartsWith(Qcow2))
        {
            throw new DiskFormatException(name, "stream", 0, "it is a qcow2 image, which needs random access: open the file with DiskImage.OpenAsync (or TarArchive for one inside a tar file)");
        }

        if (head.StartsWith(VmdkDescriptor))
        {
            throw new DiskFormatException(name, "stream", 0, "it is a VMDK descriptor, whose extents are separate files: a stream carries only a streamOptimized VMDK");
        }
    }
}
