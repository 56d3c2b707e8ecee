using System.Buffers.Binary;
using System.Globalization;
using System.Text;

namespace Whitesky.DiskFormats.Qcow2;

/// <summary>The fields of a qcow2 header and its extensions that a reader needs, checked.</summary>
internal sealed record Qcow2Header
{
    public required int Version { get; init; }
    public required int ClusterBits { get; init; }
    public required long Size { get; init; }
    public required long L1Offset { get; init; }
    public required int L1Size { get; init; }
    public required ulong IncompatibleFeatures { get; init; }
    public required ulong AutoclearFeatures { get; init; }
    public required byte CompressionType { get; init; }
    public required long BackingFileOffset { get; init; }
    public required int BackingFileSize { get; init; }
    public string? BackingFormat { get; init; }
    public string? DataFile { get; init; }
    public long DataFileNameOffset { get; init; }

    public int ClusterSize => 1 << ClusterBits;
    public bool ExtendedL2 => (IncompatibleFeatures & Qcow2Spec.IncompatibleExtendedL2) != 0;
    public bool HasDataFile => (IncompatibleFeatures & Qcow2Spec.IncompatibleDataFile) != 0;
    public bool Dirty => (IncompatibleFeatures & Qcow2Spec.IncompatibleDirty) != 0;

    /// <summary>Parses the header from the first cluster of the image (or as much of it as the file has).</summary>
    public static Qcow2Header Parse(string image, ReadOnlySpan<byte> head, long fileLength)
    {
        if (head.Length < Qcow2Spec.HeaderV2Length || BinaryPrimitives.ReadUInt32BigEndian(head) != Qcow2Spec.Magic)
        {
            throw new DiskFormatException(image, "header", 0, "not a qcow2 header (bad magic or shorter than 72 bytes)");
        }

        var version = BinaryPrimitives.ReadUInt32BigEndian(head[4..]);
        if (version is not (2 or 3))
        {
            throw new DiskFormatException(image, "header", 4, Invariant($"qcow2 version {version} is not supported (only 2 and 3)"));
        }

        var clusterBits = BinaryPrimitives.ReadUInt32BigEndian(head[20..]);
        if (clusterBits is < Qcow2Spec.MinClusterBits or > Qcow2Spec.MaxClusterBits)
        {
            throw new DiskFormatException(image, "header", 20, Invariant($"cluster_bits {clusterBits} is outside {Qcow2Spec.MinClusterBits}..{Qcow2Spec.MaxClusterBits}"));
        }

        var size = BinaryPrimitives.ReadUInt64BigEndian(head[24..]);
        if (size > long.MaxValue / 2)
        {
            throw new DiskFormatException(image, "header", 24, Invariant($"virtual size {size} is not plausible"));
        }

        var crypt = BinaryPrimitives.ReadUInt32BigEndian(head[32..]);
        if (crypt != 0)
        {
            var what = crypt switch { 1 => "AES", 2 => "LUKS", _ => Invariant($"method {crypt}") };
            throw new DiskFormatException(image, "header", 32, $"the image is encrypted ({what}); encrypted qcow2 images are not supported");
        }

        ulong incompatible = 0, autoclear = 0;
        var headerLength = Qcow2Spec.HeaderV2Length;
        byte compression = Qcow2Spec.CompressionZlib;
        if (version == 3)
        {
            if (head.Length < Qcow2Spec.HeaderV3MinLength)
            {
                throw new DiskFormatException(image, "header", 0, "a version 3 header needs at least 104 bytes");
            }

            incompatible = BinaryPrimitives.ReadUInt64BigEndian(head[72..]);
            autoclear = BinaryPrimitives.ReadUInt64BigEndian(head[88..]);
            var length = BinaryPrimitives.ReadUInt32BigEndian(head[100..]);
            if (length < Qcow2Spec.HeaderV3MinLength || length > (uint)head.Length || length % 8 != 0)
            {
                throw new DiskFormatException(image, "header", 100, Invariant($"header_length {length} is not a multiple of 8 between 104 and the cluster size"));
            }

            headerLength = (int)length;
            var unknown = incompatible & ~Qcow2Spec.IncompatibleKnown;
            if (unknown != 0)
            {
                var bit = System.Numerics.BitOperations.TrailingZeroCount(unknown);
                throw new DiskFormatException(image, "header", 72, Invariant($"unknown incompatible feature bit {bit} is set; this reader cannot read the image safely"));
            }

            if ((incompatible & Qcow2Spec.IncompatibleCorrupt) != 0)
            {
                throw new DiskFormatException(image, "header", 72, "the image is marked corrupt (incompatible feature bit 1); repair it with 'qemu-img check -r all' first");
            }

            if ((incompatible & Qcow2Spec.IncompatibleCompressionType) != 0)
            {
                if (headerLength <= 104)
                {
                    throw new DiskFormatException(image, "header", 104, "the compression-type bit is set but the header has no compression_type field");
                }

                compression = head[104];
                if (compression is not (Qcow2Spec.CompressionZlib or Qcow2Spec.CompressionZstd))
                {
                    throw new DiskFormatException(image, "header", 104, Invariant($"unknown compression type {compression}"));
                }
            }
            else if (headerLength > 104 && head[104] != Qcow2Spec.CompressionZlib)
            {
                throw new DiskFormatException(image, "header", 104, "compression_type is not zlib but the compression-type feature bit is clear");
            }
        }

        var l1Size = BinaryPrimitives.ReadUInt32BigEndian(head[36..]);
        var l1Offset = BinaryPrimitives.ReadUInt64BigEndian(head[40..]);
        var backingOffset = BinaryPrimitives.ReadUInt64BigEndian(head[8..]);
        var backingSize = BinaryPrimitives.ReadUInt32BigEndian(head[16..]);

        var header = new Qcow2Header
        {
            Version = (int)version,
            ClusterBits = (int)clusterBits,
            Size = (long)size,
            L1Offset = l1Offset > long.MaxValue ? long.MaxValue : (long)l1Offset,
            L1Size = l1Size > int.MaxValue ? int.MaxValue : (int)l1Size,
            IncompatibleFeatures = incompatible,
            AutoclearFeatures = autoclear,
            CompressionType = compression,
            BackingFileOffset = backingOffset > long.MaxValue ? long.MaxValue : (long)backingOffset,
            BackingFileSize = backingSize > int.MaxValue ? int.MaxValue : (int)backingSize,
        };

        return ParseExtensions(image, head, headerLength, header);
    }

    private static Qcow2Header ParseExtensions(string image, ReadOnlySpan<byte> head, int start, Qcow2Header header)
    {
        string? backingFormat = null, dataFile = null;
        long dataFileAt = 0;
        var position = start;
        while (position + 8 <= head.Length)
        {
            var type = BinaryPrimitives.ReadUInt32BigEndian(head[position..]);
            var length = BinaryPrimitives.ReadUInt32BigEndian(head[(position + 4)..]);
            if (type == Qcow2Spec.ExtensionEnd)
            {
                break;
            }

            if (length > (uint)(head.Length - position - 8))
            {
                throw new DiskFormatException(image, "header extension", position, Invariant($"extension 0x{type:x8} of {length} bytes runs past the first cluster"));
            }

            var data = head.Slice(position + 8, (int)length);
            switch (type)
            {
                case Qcow2Spec.ExtensionBackingFormat:
                    backingFormat = Name(image, position, data);
                    break;
                case Qcow2Spec.ExtensionDataFile:
                    dataFile = Name(image, position, data);
                    dataFileAt = position;
                    break;
            }

            position += 8 + (int)((length + 7) & ~7u);
        }

        if (header.HasDataFile && dataFile is null)
        {
            throw new DiskFormatException(image, "header extension", start, "the image stores its data in an external file but does not name it");
        }

        return header with { BackingFormat = backingFormat, DataFile = header.HasDataFile ? dataFile : null, DataFileNameOffset = dataFileAt };
    }

    private static string Name(string image, int position, ReadOnlySpan<byte> data)
    {
        var end = data.IndexOf((byte)0);
        var text = end < 0 ? data : data[..end];
        try
        {
            return new UTF8Encoding(false, true).GetString(text);
        }
        catch (DecoderFallbackException e)
        {
            throw new DiskFormatException(image, "header extension", position, "a name is not valid UTF-8: " + e.Message);
        }
    }

    private static string Invariant(FormattableString text) => text.ToString(CultureInfo.InvariantCulture);
}
