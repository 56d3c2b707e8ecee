using System.Buffers.Binary;
using System.Globalization;

namespace Whitesky.DiskFormats.Vhd;

/// <summary>A parent locator entry of a differencing VHD's dynamic header.</summary>
internal readonly record struct VhdParentLocator(uint PlatformCode, int DataLength, long DataOffset, long EntryOffset);

/// <summary>The fields of a VHD dynamic disk header that a reader needs, checked against the file.</summary>
internal sealed record VhdDynamicHeader
{
    /// <summary>The most blocks a disk may have here (a table of 2 GiB; 2 MiB blocks make 1 PiB).</summary>
    private const long MaxBlocks = int.MaxValue / 4;

    public required long Offset { get; init; }
    public required long TableOffset { get; init; }
    public required uint MaxTableEntries { get; init; }
    public required int BlockSize { get; init; }
    public required Guid ParentUniqueId { get; init; }
    public required string ParentUnicodeName { get; init; }
    public required IReadOnlyList<VhdParentLocator> ParentLocators { get; init; }

    public static VhdDynamicHeader Parse(string image, ReadOnlySpan<byte> bytes, long offset, long fileLength, long currentSize)
    {
        if (bytes.Length < VhdSpec.DynamicHeaderLength || !bytes[..8].SequenceEqual(VhdSpec.DynamicHeaderCookie))
        {
            throw new DiskFormatException(image, "dynamic disk header", offset, "not a dynamic disk header (no 'cxsparse' cookie)");
        }

        var stored = BinaryPrimitives.ReadUInt32BigEndian(bytes[VhdSpec.HeaderChecksum..]);
        var computed = VhdSpec.Checksum(bytes[..VhdSpec.DynamicHeaderLength], VhdSpec.HeaderChecksum);
        if (stored != computed)
        {
            throw new DiskFormatException(image, "dynamic disk header", offset + VhdSpec.HeaderChecksum, Inv($"checksum 0x{stored:x8} does not match the header's content (0x{computed:x8}); the header is corrupt"));
        }

        var version = BinaryPrimitives.ReadUInt32BigEndian(bytes[VhdSpec.HeaderVersion..]);
        if (version >> 16 != 1)
        {
            throw new DiskFormatException(image, "dynamic disk header", offset + VhdSpec.HeaderVersion, Inv($"header version 0x{version:x8} is not 1.x"));
        }

        var blockSize = BinaryPrimitives.ReadUInt32BigEndian(bytes[VhdSpec.HeaderBlockSize..]);
        if (blockSize is < VhdSpec.MinBlockSize or > VhdSpec.MaxBlockSize || (blockSize & (blockSize - 1)) != 0)
        {
            throw new DiskFormatException(image, "dynamic disk header", offset + VhdSpec.HeaderBlockSize, Inv($"block size {blockSize} is not a power of two between {VhdSpec.MinBlockSize} and {VhdSpec.MaxBlockSize}"));
        }

        var tableOffset = BinaryPrimitives.ReadUInt64BigEndian(bytes[VhdSpec.HeaderTableOffset..]);
        var entries = BinaryPrimitives.ReadUInt32BigEndian(bytes[VhdSpec.HeaderMaxTableEntries..]);
        var needed = (currentSize + blockSize - 1) / blockSize;
        if (entries < needed)
        {
            throw new DiskFormatException(image, "dynamic disk header", offset + VhdSpec.HeaderMaxTableEntries, Inv($"max table entries {entries} is too small for a disk of {currentSize} bytes in {blockSize}-byte blocks (needs {needed})"));
        }

        if (needed > MaxBlocks)
        {
            throw new DiskFormatException(image, "dynamic disk header", offset + VhdSpec.HeaderMaxTableEntries, Inv($"a disk of {needed} blocks is more than the {MaxBlocks} supported"));
        }

        if (tableOffset < VhdSpec.FooterLength || tableOffset > (ulong)fileLength || 4L * entries > fileLength - (long)tableOffset)
        {
            throw new DiskFormatException(image, "block allocation table", (long)Math.Min(tableOffset, long.MaxValue), Inv($"a table of {entries} entries ({4L * entries} bytes) does not fit in the file of {fileLength} bytes after the footer copy"));
        }

        var locators = new List<VhdParentLocator>();
        for (var i = 0; i < VhdSpec.ParentLocatorCount; i++)
        {
            var entry = bytes.Slice(VhdSpec.HeaderParentLocators + (i * VhdSpec.ParentLocatorLength), VhdSpec.ParentLocatorLength);
            var code = BinaryPrimitives.ReadUInt32BigEndian(entry);
            if (code == 0)
            {
                continue;
            }

            var entryOffset = offset + VhdSpec.HeaderParentLocators + (i * VhdSpec.ParentLocatorLength);
            var length = BinaryPrimitives.ReadUInt32BigEndian(entry[8..]);
            var dataOffset = BinaryPrimitives.ReadUInt64BigEndian(entry[16..]);
            if (length > VhdSpec.MaxLocatorBytes || dataOffset > (ulong)fileLength || length > fileLength - (long)dataOffset)
            {
                throw new DiskFormatException(image, "parent locator", entryOffset, Inv($"its {length} bytes of platform data at offset {dataOffset} do not fit in the file of {fileLength} bytes (or exceed {VhdSpec.MaxLocatorBytes})"));
            }

            locators.Add(new VhdParentLocator(code, (int)length, (long)dataOffset, entryOffset));
        }

        var unicodeName = bytes.Slice(VhdSpec.HeaderParentUnicodeName, 512);
        return new VhdDynamicHeader
        {
            Offset = offset,
            TableOffset = (long)tableOffset,
            MaxTableEntries = entries,
            BlockSize = (int)blockSize,
            ParentUniqueId = new Guid(bytes.Slice(VhdSpec.HeaderParentUniqueId, 16), bigEndian: true),
            ParentUnicodeName = System.Text.Encoding.BigEndianUnicode.GetString(unicodeName).TrimEnd('\0'),
            ParentLocators = locators,
        };
    }

    private static string Inv(FormattableString text) => text.ToString(CultureInfo.InvariantCulture);
}
