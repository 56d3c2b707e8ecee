using System.Buffers.Binary;
using System.Globalization;
using System.Text;

namespace Whitesky.DiskFormats.Vhdx;

/// <summary>The metadata items of a VHDX (MS-VHDX 2.6): sizes, block size, parent locator.</summary>
internal sealed record VhdxMetadata(
    int BlockSize,
    bool LeaveBlockAllocated,
    bool HasParent,
    long VirtualDiskSize,
    int LogicalSectorSize,
    int PhysicalSectorSize,
    Guid Page83,
    IReadOnlyDictionary<string, string> ParentLocator,
    long ParentLocatorOffset)
{
    public static async Task<VhdxMetadata> ReadAsync(IRandomAccessSource source, VhdxRegionTable regions, CancellationToken cancellationToken)
    {
        var name = source.Name;
        var regionOffset = regions.MetadataOffset;
        if (regions.MetadataLength < VhdxSpec.MetadataTableSize)
        {
            throw new DiskFormatException(name, "metadata region", regionOffset, Inv($"its {regions.MetadataLength} bytes cannot hold the 64 KiB metadata table"));
        }

        var table = new byte[VhdxSpec.MetadataTableSize];
        await ReadExactlyAsync(source, regionOffset, table, "metadata table", cancellationToken).ConfigureAwait(false);
        if (BinaryPrimitives.ReadUInt64LittleEndian(table) != VhdxSpec.MetadataSignature)
        {
            throw new DiskFormatException(name, "metadata table", regionOffset, "the signature is not 'metadata'");
        }

        int count = BinaryPrimitives.ReadUInt16LittleEndian(table.AsSpan(10));
        if (count > VhdxSpec.MaxMetadataEntries)
        {
            throw new DiskFormatException(name, "metadata table", regionOffset + 10, Inv($"it claims {count} entries, more than {VhdxSpec.MaxMetadataEntries}"));
        }

        var items = new Dictionary<Guid, (long Offset, byte[] Data, long EntryOffset)>();
        for (var i = 0; i < count; i++)
        {
            var entryOffset = regionOffset + 32 + (i * VhdxSpec.MetadataEntrySize);
            var entry = table.AsSpan(32 + (i * VhdxSpec.MetadataEntrySize), VhdxSpec.MetadataEntrySize);
            var id = new Guid(entry[..16]);
            long offset = BinaryPrimitives.ReadUInt32LittleEndian(entry[16..]);
            long length = BinaryPrimitives.ReadUInt32LittleEndian(entry[20..]);
            var flags = BinaryPrimitives.ReadUInt32LittleEndian(entry[24..]);
            var isUser = (flags & VhdxSpec.MetadataIsUser) != 0;
            if (!isUser && items.ContainsKey(id))
            {
                throw new DiskFormatException(name, "metadata table entry", entryOffset, $"the item {id} appears twice");
            }

            if (!IsKnown(id) || isUser)
            {
                if ((flags & VhdxSpec.MetadataIsRequired) != 0)
                {
                    throw new DiskFormatException(name, "metadata table entry", entryOffset, $"the item {id} is marked required and this reader does not know it");
                }

                continue;
            }

            if (length > VhdxSpec.MaxMetadataItemSize || (length > 0 && (offset < VhdxSpec.MetadataTableSize || offset + length > regions.MetadataLength)))
            {
                throw new DiskFormatException(name, "metadata table entry", entryOffset,
                    Inv($"the item {id} places {length} bytes at {offset}, outside the metadata region of {regions.MetadataLength} bytes (after its 64 KiB table)"));
            }

            var data = new byte[length];
            await ReadExactlyAsync(source, regionOffset + offset, data, "metadata item", cancellationToken).ConfigureAwait(false);
            items[id] = (regionOffset + offset, data, entryOffset);
        }

        var fileParameters = Item(items, VhdxSpec.FileParameters, 8, name, regionOffset, "file parameters");
        var blockSize = BinaryPrimitives.ReadUInt32LittleEndian(fileParameters.Data);
        var bits = BinaryPrimitives.ReadUInt32LittleEndian(fileParameters.Data.AsSpan(4));
        if (blockSize < VhdxSpec.MinBlockSize || blockSize > VhdxSpec.MaxBlockSize || (blockSize & (blockSize - 1)) != 0)
        {
            throw new DiskFormatException(name, "file parameters", fileParameters.Offset, Inv($"the block size {blockSize} is not a power of two between 1 MiB and 256 MiB"));
        }

        var sizeItem = Item(items, VhdxSpec.VirtualDiskSize, 8, name, regionOffset, "virtual disk size");
        var size = BinaryPrimitives.ReadUInt64LittleEndian(sizeItem.Data);
        var logicalItem = Item(items, VhdxSpec.LogicalSectorSize, 4, name, regionOffset, "logical sector size");
        var logical = BinaryPrimitives.ReadUInt32LittleEndian(logicalItem.Data);
        if (logical is not 512 and not 4096)
        {
            throw new DiskFormatException(name, "logical sector size", logicalItem.Offset, Inv($"{logical} is neither 512 nor 4096"));
        }

        if (size == 0 || size > VhdxSpec.MaxVirtualDiskSize || size % logical != 0)
        {
            throw new DiskFormatException(name, "virtual disk size", sizeItem.Offset, Inv($"{size} bytes is not a multiple of the {logical}-byte sector between one sector and 64 TiB"));
        }

        var physicalItem = Item(items, VhdxSpec.PhysicalSectorSize, 4, name, regionOffset, "physical sector size");
        var physical = BinaryPrimitives.ReadUInt32LittleEndian(physicalItem.Data);
        if (physical is not 512 and not 4096)
        {
            throw new DiskFormatException(name, "physical sector size", physicalItem.Offset, Inv($"{physical} is neither 512 nor 4096"));
        }

        var page83 = Item(items, VhdxSpec.Page83Data, 16, name, regionOffset, "page 83 data");
        var hasParent = (bits & VhdxSpec.FileParametersHasParent) != 0;
        IReadOnlyDictionary<string, string> locator = new Dictionary<string, string>();
        long locatorOffset = 0;
        if (hasParent)
        {
            if (!items.TryGetValue(VhdxSpec.ParentLocator, out var parent))
            {
                throw new DiskFormatException(name, "metadata table", regionOffset, "the file parameters say the disk has a parent, but there is no parent locator");
            }

            locator = ParseParentLocator(name, parent.Offset, parent.Data);
            locatorOffset = parent.Offset;
        }

        return new VhdxMetadata((int)blockSize, (bits & VhdxSpec.FileParametersLeaveBlockAllocated) != 0, hasParent, (long)size,
            (int)logical, (int)physical, new Guid(page83.Data), locator, locatorOffset);
    }

    private static bool IsKnown(Guid id) =>
        id == VhdxSpec.FileParameters || id == VhdxSpec.VirtualDiskSize || id == VhdxSpec.Page83Data ||
        id == VhdxSpec.LogicalSectorSize || id == VhdxSpec.PhysicalSectorSize || id == VhdxSpec.ParentLocator;

    private static (long Offset, byte[] Data) Item(Dictionary<Guid, (long Offset, byte[] Data, long EntryOffset)> items, Guid id, int size, string name, long tableOffset, string what)
    {
        if (!items.TryGetValue(id, out var item))
        {
            throw new DiskFormatException(name, "metadata table", tableOffset, $"the required {what} item is missing");
        }

        if (item.Data.Length < size)
        {
            throw new DiskFormatException(name, what, item.Offset, Inv($"the item is {item.Data.Length} bytes, less than {size}"));
        }

        return (item.Offset, item.Data);
    }

    private static Dictionary<string, string> ParseParentLocator(string name, long offset, byte[] data)
    {
        if (data.Length < 20)
        {
            throw new DiskFormatException(name, "parent locator", offset, Inv($"the item is {data.Length} bytes, less than its 20-byte header"));
        }

        var type = new Guid(data.AsSpan(0, 16));
        if (type != VhdxSpec.VhdxParentLocatorType)
        {
            throw new DiskFormatException(name, "parent locator", offset, $"the locator type {type} is not the VHDX one");
        }

        int count = BinaryPrimitives.ReadUInt16LittleEndian(data.AsSpan(18));
        if (count > VhdxSpec.MaxParentLocatorEntries || 20 + (count * 12) > data.Length)
        {
            throw new DiskFormatException(name, "parent locator", offset + 18, Inv($"{count} key/value entries do not fit in {data.Length} bytes"));
        }

        var result = new Dictionary<string, string>(StringComparer.Ordinal);
        var utf16 = new UnicodeEncoding(bigEndian: false, byteOrderMark: false, throwOnInvalidBytes: true);
        for (var i = 0; i < count; i++)
        {
            var e = data.AsSpan(20 + (i * 12), 12);
            var keyOffset = BinaryPrimitives.ReadUInt32LittleEndian(e);
            var valueOffset = BinaryPrimitives.ReadUInt32LittleEndian(e[4..]);
            int keyLength = BinaryPrimitives.ReadUInt16LittleEndian(e[8..]);
            int valueLength = BinaryPrimitives.ReadUInt16LittleEndian(e[10..]);
            if (keyOffset > (uint)data.Length || keyLength > data.Length - (long)keyOffset || valueOffset > (uint)data.Length ||
                valueLength > data.Length - (long)valueOffset || keyLength % 2 != 0 || valueLength % 2 != 0 || keyLength == 0)
            {
                throw new DiskFormatException(name, "parent locator entry", offset + 20 + (i * 12), Inv($"key {keyLength} bytes at {keyOffset} or value {valueLength} bytes at {valueOffset} lies outside the {data.Length}-byte locator"));
            }

            try
            {
                var key = utf16.GetString(data, (int)keyOffset, keyLength);
                var value = utf16.GetString(data, (int)valueOffset, valueLength);
                if (!result.TryAdd(key, value))
                {
                    throw new DiskFormatException(name, "parent locator entry", offset + 20 + (i * 12), $"the key '{Printable(key)}' appears twice");
                }
            }
            catch (DecoderFallbackException)
            {
                throw new DiskFormatException(name, "parent locator entry", offset + 20 + (i * 12), "a key or value is not valid UTF-16");
            }
        }

        return result;
    }

    internal static string Printable(string text) => new(text.Take(200).Select(c => char.IsControl(c) ? '?' : c).ToArray());

    internal static async Task ReadExactlyAsync(IRandomAccessSource source, long offset, Memory<byte> buffer, string structure, CancellationToken cancellationToken)
    {
        var got = await source.ReadAsync(offset, buffer, cancellationToken).ConfigureAwait(false);
        if (got < buffer.Length)
        {
            throw new DiskFormatException(source.Name, structure, offset + got, "the file ends inside it");
        }
    }

    private static string Inv(FormattableString text) => text.ToString(CultureInfo.InvariantCulture);
}
