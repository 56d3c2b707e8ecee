using System.Buffers.Binary;
using System.Globalization;

namespace Whitesky.DiskFormats.Vhdx;

/// <summary>
/// Replays a VHDX log (MS-VHDX 2.3) in memory: finds the active sequence (the valid chain of entries with the
/// highest sequence number whose tail lies inside it) and applies its descriptors, in order, to an overlay of
/// 4 KiB file pages. The image file is never written.
/// </summary>
internal static class VhdxLogReplay
{
    private sealed record Entry(long Slot, int Length, long Tail, ulong Sequence, long FlushedFileOffset, long LastFileOffset, List<Descriptor> Descriptors);

    private readonly record struct Descriptor(bool IsZero, long FileOffset, long ZeroLength, byte[]? Page);

    /// <summary>The overlay the log produces, or the source itself when the header says the log is empty.</summary>
    public static async Task<IRandomAccessSource> ApplyAsync(IRandomAccessSource source, VhdxHeader header, CancellationToken cancellationToken)
    {
        if (header.LogGuid == Guid.Empty)
        {
            return source;
        }

        var name = source.Name;
        const string Structure = "log";
        if (header.LogVersion != VhdxSpec.LogVersion)
        {
            throw new DiskFormatException(name, "header", header.Offset + 64, Inv($"log version {header.LogVersion} is not 0"));
        }

        long length = header.LogLength;
        var offset = header.LogOffset;
        if (length == 0 || length % VhdxSpec.MiB != 0 || offset % VhdxSpec.MiB != 0 || offset < VhdxSpec.HeaderSectionEnd ||
            offset > source.Length || length > source.Length - offset)
        {
            throw new DiskFormatException(name, Structure, offset, Inv($"a log of {length} bytes does not fit, 1 MiB-aligned, in the file of {source.Length} bytes"));
        }

        if (length > VhdxSpec.MaxLogLength)
        {
            throw new DiskFormatException(name, Structure, offset, Inv($"the log of {length} bytes is larger than the {VhdxSpec.MaxLogLength} bytes replayed in memory"));
        }

        var log = new byte[length];
        await VhdxMetadata.ReadExactlyAsync(source, offset, log, Structure, cancellationToken).ConfigureAwait(false);
        var reader = new LogReader(name, offset, log, header.LogGuid);
        var sequence = reader.FindActiveSequence();

        var head = sequence[^1];
        if (head.FlushedFileOffset > source.Length)
        {
            throw new DiskFormatException(name, "log entry", offset + head.Slot, Inv($"the log was flushed with the file at {head.FlushedFileOffset} bytes, but the file has {source.Length}: it was truncated"));
        }

        var pages = new Dictionary<long, byte[]?>();
        foreach (var entry in sequence)
        {
            foreach (var d in entry.Descriptors)
            {
                var end = d.IsZero ? d.FileOffset + d.ZeroLength : d.FileOffset + VhdxSpec.LogSectorSize;
                if (d.FileOffset < VhdxSpec.RegionTable1Offset || (d.FileOffset < offset + length && end > offset))
                {
                    throw new DiskFormatException(name, "log descriptor", offset + entry.Slot, Inv($"it writes [{d.FileOffset}, {end}), over the headers or the log itself"));
                }

                for (var at = d.FileOffset; at < end; at += VhdxSpec.LogSectorSize)
                {
                    pages[at] = d.Page;
                    if (pages.Count > VhdxSpec.MaxOverlayPages)
                    {
                        throw new DiskFormatException(name, "log descriptor", offset + entry.Slot, Inv($"the log changes more than {VhdxSpec.MaxOverlayPages} pages of 4 KiB"));
                    }
                }
            }
        }

        if (head.LastFileOffset > source.Length + (VhdxSpec.MaxOverlayPages * VhdxSpec.LogSectorSize))
        {
            throw new DiskFormatException(name, "log entry", offset + head.Slot, Inv($"the log extends the file of {source.Length} bytes to {head.LastFileOffset} bytes, more than 4 GiB further"));
        }

        var logicalLength = Math.Max(source.Length, head.LastFileOffset);
        return new VhdxOverlaySource(source, pages, logicalLength);
    }

    private sealed class LogReader(string name, long logOffset, byte[] log, Guid logGuid)
    {
        private long _checksummed;
        private string? _firstProblem;

        public List<Entry> FindActiveSequence()
        {
            var entries = new Dictionary<long, Entry>();
            for (long slot = 0; slot < log.LongLength; slot += VhdxSpec.LogSectorSize)
            {
                if (TryParse(slot) is { } entry)
                {
                    entries[slot] = entry;
                }
            }

            // A head is an entry no entry follows; the active sequence ends at the head with the highest sequence number
            // whose tail entry leads to it through consecutive entries.
            var heads = entries.Values.Where(e => Next(entries, e) is null).OrderByDescending(e => e.Sequence);
            var steps = 0L;
            foreach (var head in heads)
            {
                var chain = new List<Entry>();
                var at = entries.GetValueOrDefault(head.Tail);
                while (at is not null && chain.Count <= entries.Count)
                {
                    if (++steps > 64L * (entries.Count + 1))
                    {
                        throw new DiskFormatException(name, "log", logOffset, "the log holds too many broken sequences of entries to search");
                    }

                    chain.Add(at);
                    if (ReferenceEquals(at, head))
                    {
                        return chain;
                    }

                    at = Next(entries, at);
                }
            }

            var why = entries.Count == 0
                ? "it holds no valid entry" + (_firstProblem is null ? "" : " (" + _firstProblem + ")")
                : "no sequence of entries leads from a tail to its head";
            throw new DiskFormatException(name, "log", logOffset, "the header says the log must be replayed, but " + why);
        }

        private Entry? Next(Dictionary<long, Entry> entries, Entry entry) =>
            entries.GetValueOrDefault((entry.Slot + entry.Length) % log.LongLength) is { } next && next.Sequence == entry.Sequence + 1 ? next : null;

        private Entry? TryParse(long slot)
        {
            var first = Read(slot, VhdxSpec.LogEntryHeaderSize);
            if (BinaryPrimitives.ReadUInt32LittleEndian(first) != VhdxSpec.LogEntrySignature)
            {
                return null;
            }

            var length = BinaryPrimitives.ReadUInt32LittleEndian(first.AsSpan(8));
            var tail = BinaryPrimitives.ReadUInt32LittleEndian(first.AsSpan(12));
            var sequence = BinaryPrimitives.ReadUInt64LittleEndian(first.AsSpan(16));
            var count = BinaryPrimitives.ReadUInt32LittleEndian(first.AsSpan(24));
            var guid = new Guid(first.AsSpan(32, 16));
            var flushed = BinaryPrimitives.ReadUInt64LittleEndian(first.AsSpan(48));
            var last = BinaryPrimitives.ReadUInt64LittleEndian(first.AsSpan(56));
            if (length == 0 || length % VhdxSpec.LogSectorSize != 0 || length > log.LongLength || tail % VhdxSpec.LogSectorSize != 0 ||
                tail >= log.LongLength || sequence == 0 || guid != logGuid || flushed > long.MaxValue / 2 || last > long.MaxValue / 2)
            {
                return Problem(slot, "its header fields are inconsistent or it belongs to another log");
            }

            long descriptorSectors = (VhdxSpec.LogEntryHeaderSize + (count * (long)VhdxSpec.LogDescriptorSize) + VhdxSpec.LogSectorSize - 1) / VhdxSpec.LogSectorSize;
            if (descriptorSectors > length / VhdxSpec.LogSectorSize)
            {
                return Problem(slot, Inv($"{count} descriptors do not fit in an entry of {length} bytes"));
            }

            // The total of bytes checksummed is bounded so that a log full of forged headers cannot keep us busy.
            _checksummed += length;
            if (_checksummed > 16 * log.LongLength)
            {
                throw new DiskFormatException(name, "log entry", logOffset + slot, "the log holds too many damaged entries to search");
            }

            var bytes = Read(slot, (int)length);
            if (!VhdxChecksum.IsValid(bytes, 4))
            {
                return Problem(slot, Inv($"checksum mismatch in the entry of sequence {sequence}"));
            }

            var descriptors = new List<Descriptor>((int)Math.Min(count, 4096));
            var dataSector = descriptorSectors;
            for (var i = 0; i < count; i++)
            {
                var d = bytes.AsSpan(VhdxSpec.LogEntryHeaderSize + (i * VhdxSpec.LogDescriptorSize), VhdxSpec.LogDescriptorSize);
                var signature = BinaryPrimitives.ReadUInt32LittleEndian(d);
                var fileOffset = BinaryPrimitives.ReadUInt64LittleEndian(d[16..]);
                var descriptorSequence = BinaryPrimitives.ReadUInt64LittleEndian(d[24..]);
                if (descriptorSequence != sequence || fileOffset % VhdxSpec.LogSectorSize != 0 || fileOffset > long.MaxValue / 2)
                {
                    return Problem(slot, Inv($"descriptor {i} has sequence {descriptorSequence} or an unaligned file offset {fileOffset}"));
                }

                if (signature == VhdxSpec.ZeroDescriptorSignature)
                {
                    var zeroLength = BinaryPrimitives.ReadUInt64LittleEndian(d[8..]);
                    if (zeroLength % VhdxSpec.LogSectorSize != 0 || zeroLength > VhdxSpec.MaxOverlayPages * VhdxSpec.LogSectorSize)
                    {
                        return Problem(slot, Inv($"zero descriptor {i} has a length of {zeroLength} bytes"));
                    }

                    descriptors.Add(new Descriptor(true, (long)fileOffset, (long)zeroLength, null));
                }
                else if (signature == VhdxSpec.DataDescriptorSignature)
                {
                    if (dataSector >= length / VhdxSpec.LogSectorSize)
                    {
                        return Problem(slot, Inv($"data descriptor {i} has no data sector in the entry"));
                    }

                    var sector = bytes.AsSpan((int)(dataSector * VhdxSpec.LogSectorSize), VhdxSpec.LogSectorSize);
                    dataSector++;
                    if (BinaryPrimitives.ReadUInt32LittleEndian(sector) != VhdxSpec.DataSectorSignature ||
                        BinaryPrimitives.ReadUInt32LittleEndian(sector[4..]) != (uint)(sequence >> 32) ||
                        BinaryPrimitives.ReadUInt32LittleEndian(sector[^4..]) != (uint)sequence)
                    {
                        return Problem(slot, Inv($"the data sector of descriptor {i} has a wrong signature or sequence number"));
                    }

                    var page = new byte[VhdxSpec.LogSectorSize];
                    d.Slice(8, 8).CopyTo(page);
                    sector.Slice(8, VhdxSpec.DataSectorPayload).CopyTo(page.AsSpan(8));
                    d.Slice(4, 4).CopyTo(page.AsSpan(8 + VhdxSpec.DataSectorPayload));
                    descriptors.Add(new Descriptor(false, (long)fileOffset, 0, page));
                }
                else
                {
                    return Problem(slot, Inv($"descriptor {i} has an unknown signature 0x{signature:x8}"));
                }
            }

            if (dataSector != length / VhdxSpec.LogSectorSize)
            {
                return Problem(slot, Inv($"the entry of {length} bytes holds more sectors than its descriptors use"));
            }

            return new Entry(slot, (int)length, tail, sequence, (long)flushed, (long)last, descriptors);
        }

        private Entry? Problem(long slot, string problem)
        {
            _firstProblem ??= Inv($"entry at log offset {slot}: {problem}");
            return null;
        }

        /// <summary>Bytes of the circular log from <paramref name="slot"/>, wrapping at its end.</summary>
        private byte[] Read(long slot, int count)
        {
            var bytes = new byte[count];
            var firstPart = (int)Math.Min(count, log.LongLength - slot);
            log.AsSpan((int)slot, firstPart).CopyTo(bytes);
            log.AsSpan(0, count - firstPart).CopyTo(bytes.AsSpan(firstPart));
            return bytes;
        }
    }

    private static string Inv(FormattableString text) => text.ToString(CultureInfo.InvariantCulture);
}
