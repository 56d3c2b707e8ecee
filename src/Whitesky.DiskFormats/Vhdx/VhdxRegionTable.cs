using System.Buffers.Binary;
using System.Globalization;

namespace Whitesky.DiskFormats.Vhdx;

/// <summary>The region table (MS-VHDX 2.2.3): where the BAT and the metadata region are. The first valid copy of the two wins.</summary>
internal sealed record VhdxRegionTable(long Offset, long BatOffset, long BatLength, long MetadataOffset, long MetadataLength)
{
    public static async Task<VhdxRegionTable> ReadAsync(IRandomAccessSource source, CancellationToken cancellationToken)
    {
        var first = await TryReadAsync(source, VhdxSpec.RegionTable1Offset, cancellationToken).ConfigureAwait(false);
        if (first.Table is { } table)
        {
            return table;
        }

        // A valid first table that names a required region we do not know is a refusal, not a reason to try the second.
        if (first.Refusal is { } firstRefusal)
        {
            throw firstRefusal;
        }

        var second = await TryReadAsync(source, VhdxSpec.RegionTable2Offset, cancellationToken).ConfigureAwait(false);
        if (second.Table is { } backup)
        {
            return backup;
        }

        if (second.Refusal is { } refusal)
        {
            throw refusal;
        }

        throw new DiskFormatException(source.Name, "region tables", VhdxSpec.RegionTable1Offset,
            $"neither region table is valid (first: {first.Problem}; second: {second.Problem})");
    }

    private static async Task<(VhdxRegionTable? Table, string Problem, DiskFormatException? Refusal)> TryReadAsync(IRandomAccessSource source, long offset, CancellationToken cancellationToken)
    {
        var raw = new byte[VhdxSpec.RegionTableSize];
        var got = await source.ReadAsync(offset, raw, cancellationToken).ConfigureAwait(false);
        if (got < raw.Length)
        {
            return (null, "the file ends inside it", null);
        }

        var span = raw.AsSpan();
        if (BinaryPrimitives.ReadUInt32LittleEndian(span) != VhdxSpec.RegionSignature)
        {
            return (null, "the signature is not 'regi'", null);
        }

        if (!VhdxChecksum.IsValid(span, 4))
        {
            return (null, Inv($"checksum mismatch (stored 0x{BinaryPrimitives.ReadUInt32LittleEndian(span[4..]):x8}, computed 0x{VhdxChecksum.Compute(span, 4):x8})"), null);
        }

        var count = BinaryPrimitives.ReadUInt32LittleEndian(span[8..]);
        if (count > VhdxSpec.MaxRegionEntries)
        {
            return (null, Inv($"it claims {count} entries, more than {VhdxSpec.MaxRegionEntries}"), null);
        }

        long batOffset = -1, batLength = 0, metaOffset = -1, metaLength = 0;
        var seen = new List<(long Start, long End)>();
        for (var i = 0; i < (int)count; i++)
        {
            var entry = span.Slice(16 + (i * VhdxSpec.RegionEntrySize), VhdxSpec.RegionEntrySize);
            var where = offset + 16 + (i * VhdxSpec.RegionEntrySize);
            var guid = new Guid(entry[..16]);
            var fileOffset = BinaryPrimitives.ReadUInt64LittleEndian(entry[16..]);
            long length = BinaryPrimitives.ReadUInt32LittleEndian(entry[24..]);
            var required = (BinaryPrimitives.ReadUInt32LittleEndian(entry[28..]) & VhdxSpec.RegionRequired) != 0;
            if (fileOffset % VhdxSpec.MiB != 0 || fileOffset < VhdxSpec.HeaderSectionEnd || length % VhdxSpec.MiB != 0 ||
                fileOffset > (ulong)source.Length || length > source.Length - (long)fileOffset)
            {
                return (null, Inv($"entry {i} ({guid}) places {length} bytes at {fileOffset}: not 1 MiB-aligned after the header section inside the file of {source.Length} bytes"), null);
            }

            var start = (long)fileOffset;
            if (seen.Any(r => start < r.End && r.Start < start + length))
            {
                return (null, Inv($"entry {i} ({guid}) overlaps another region"), null);
            }

            seen.Add((start, start + length));
            if (guid == VhdxSpec.BatRegion || guid == VhdxSpec.MetadataRegion)
            {
                var isBat = guid == VhdxSpec.BatRegion;
                if ((isBat ? batOffset : metaOffset) >= 0)
                {
                    return (null, Inv($"entry {i} repeats the {(isBat ? "BAT" : "metadata")} region"), null);
                }

                if (isBat)
                {
                    (batOffset, batLength) = (start, length);
                }
                else
                {
                    (metaOffset, metaLength) = (start, length);
                }
            }
            else if (required)
            {
                return (null, "an unknown required region", new DiskFormatException(source.Name, "region table entry", where,
                    $"the region {guid} is marked required and this reader does not know it"));
            }
        }

        if (batOffset < 0 || metaOffset < 0)
        {
            return (null, batOffset < 0 ? "it has no BAT region" : "it has no metadata region", null);
        }

        return (new VhdxRegionTable(offset, batOffset, batLength, metaOffset, metaLength), "", null);
    }

    private static string Inv(FormattableString text) => text.ToString(CultureInfo.InvariantCulture);
}
