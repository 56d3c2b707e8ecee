using System.Buffers.Binary;
using System.Globalization;
using System.Text;
using Whitesky.DiskFormats;

namespace Whitesky.Migration.Guest;

/// <summary>
/// Reads a guest disk's partition table (GPT, else MBR) to tell how the guest boots: an EFI system partition
/// means UEFI, an MBR or a GPT with a BIOS boot partition means BIOS. Reads a few sectors, never the data.
/// </summary>
public static class GuestDiskInspector
{
    private static readonly int[] SectorSizes = [512, 4096];

    /// <summary>Reads the partition layout of a decoded image.</summary>
    public static Task<GuestDiskLayout> InspectAsync(IVirtualDisk disk, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(disk);
        return InspectAsync((offset, buffer, ct) => disk.ReadAsync(offset, buffer, ct), disk.Capacity, cancellationToken);
    }

    /// <summary>Reads the partition layout of an NBD export (a target after a copy, say).</summary>
    public static Task<GuestDiskLayout> InspectAsync(Whitesky.Nbd.NbdClient client, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(client);
        return InspectAsync((offset, buffer, ct) => client.ReadAsync(offset, buffer, ct), client.Export.Size, cancellationToken);
    }

    internal static async Task<GuestDiskLayout> InspectAsync(ReadAt read, long capacity, CancellationToken cancellationToken)
    {
        if (capacity < 1024)
        {
            return Empty();
        }

        var head = new byte[(int)Math.Min(2 * 4096, capacity)];
        await read(0, head, cancellationToken).ConfigureAwait(false);
        foreach (var sectorSize in SectorSizes)
        {
            if (head.Length >= 2 * sectorSize && GptSpec.HasSignature(head.AsSpan(sectorSize)))
            {
                return await ReadGptAsync(read, capacity, sectorSize, head.AsMemory(sectorSize, sectorSize), cancellationToken).ConfigureAwait(false);
            }
        }

        return BinaryPrimitives.ReadUInt16LittleEndian(head.AsSpan(GptSpec.MbrSignatureOffset)) == 0xAA55
            ? ReadMbr(head, capacity)
            : Empty();
    }

    private static GuestDiskLayout Empty() => new() { Scheme = PartitionScheme.None, Partitions = [], BootMode = GuestBootMode.Unknown };

    private static GuestDiskLayout ReadMbr(byte[] head, long capacity)
    {
        var partitions = new List<GuestPartition>();
        var warnings = new List<string>();
        for (var i = 0; i < GptSpec.MbrEntries; i++)
        {
            var entry = head.AsSpan(GptSpec.MbrPartitionTableOffset + (i * GptSpec.MbrEntrySize), GptSpec.MbrEntrySize);
            var type = entry[4];
            if (type == 0)
            {
                continue;
            }

            var offset = BinaryPrimitives.ReadUInt32LittleEndian(entry[8..]) * 512L;
            var length = BinaryPrimitives.ReadUInt32LittleEndian(entry[12..]) * 512L;
            if (offset + length > capacity)
            {
                warnings.Add($"MBR partition {i + 1} ends at byte {offset + length}, beyond the disk's {capacity} bytes.");
            }

            partitions.Add(new GuestPartition(
                i + 1, offset, length, "0x" + type.ToString("x2", CultureInfo.InvariantCulture), null,
                IsEfiSystem: type == GptSpec.MbrTypeEfiSystem, IsActive: entry[0] == 0x80));
        }

        var bootMode = partitions.Any(p => p.IsEfiSystem) ? GuestBootMode.Uefi
            : partitions.Count > 0 ? GuestBootMode.Bios
            : GuestBootMode.Unknown;
        return new GuestDiskLayout { Scheme = PartitionScheme.Mbr, Partitions = partitions, BootMode = bootMode, Warnings = warnings };
    }

    private static async Task<GuestDiskLayout> ReadGptAsync(ReadAt read, long capacity, int sectorSize, ReadOnlyMemory<byte> header, CancellationToken cancellationToken)
    {
        var warnings = new List<string>();
        var h = header.Span;
        var headerSize = BinaryPrimitives.ReadInt32LittleEndian(h[GptSpec.HeaderSizeOffset..]);
        if (headerSize < GptSpec.MinHeaderSize || headerSize > sectorSize)
        {
            warnings.Add($"GPT header size {headerSize} is outside {GptSpec.MinHeaderSize}..{sectorSize}; the table is ignored.");
            return new GuestDiskLayout { Scheme = PartitionScheme.Gpt, Partitions = [], BootMode = GuestBootMode.Unknown, SectorSize = sectorSize, Warnings = warnings };
        }

        if (GptSpec.HeaderCrc(h, headerSize) != BinaryPrimitives.ReadUInt32LittleEndian(h[GptSpec.HeaderCrcOffset..]))
        {
            warnings.Add("The primary GPT header's CRC does not match its content.");
        }

        var alternate = BinaryPrimitives.ReadInt64LittleEndian(h[GptSpec.AlternateLbaOffset..]);
        var entryLba = BinaryPrimitives.ReadInt64LittleEndian(h[GptSpec.EntryLbaOffset..]);
        var entryCount = BinaryPrimitives.ReadUInt32LittleEndian(h[GptSpec.EntryCountOffset..]);
        var entrySize = BinaryPrimitives.ReadUInt32LittleEndian(h[GptSpec.EntrySizeOffset..]);
        var entryArrayCrc = BinaryPrimitives.ReadUInt32LittleEndian(h[GptSpec.EntryArrayCrcOffset..]);
        var partitions = new List<GuestPartition>();
        var arrayBytes = (long)entryCount * entrySize;
        if (entrySize < GptSpec.MinEntrySize || entrySize % 8 != 0 || arrayBytes > GptSpec.MaxEntryArrayBytes
            || entryLba < 2 || entryLba > capacity / sectorSize || (entryLba * sectorSize) + arrayBytes > capacity)
        {
            warnings.Add($"GPT partition entries ({entryCount} of {entrySize} bytes at LBA {entryLba}) do not fit the disk; the table is ignored.");
        }
        else
        {
            var entries = new byte[arrayBytes];
            await read(entryLba * sectorSize, entries, cancellationToken).ConfigureAwait(false);
            if (GptSpec.Crc32(entries) != entryArrayCrc)
            {
                warnings.Add("The GPT partition entry array's CRC does not match its content.");
            }

            for (var i = 0; i < entryCount; i++)
            {
                var entry = entries.AsSpan((int)(i * entrySize), (int)entrySize);
                var type = new Guid(entry[..16]);
                if (type == Guid.Empty)
                {
                    continue;
                }

                var first = BinaryPrimitives.ReadInt64LittleEndian(entry[32..]);
                var last = BinaryPrimitives.ReadInt64LittleEndian(entry[40..]);
                var attributes = BinaryPrimitives.ReadUInt64LittleEndian(entry[48..]);
                var name = Encoding.Unicode.GetString(entry.Slice(56, 72)).TrimEnd('\0');
                if (first < 0 || last < first || (last + 1) * sectorSize > capacity)
                {
                    warnings.Add($"GPT partition {i + 1} (LBA {first}..{last}) lies outside the disk.");
                }

                partitions.Add(new GuestPartition(
                    i + 1, first * sectorSize, (last - first + 1) * sectorSize, type.ToString(), name.Length == 0 ? null : name,
                    IsEfiSystem: type == GptSpec.EfiSystemPartition, IsActive: (attributes & 0b100) != 0));
            }
        }

        var bootMode = partitions.Any(p => p.IsEfiSystem) ? GuestBootMode.Uefi
            : partitions.Any(p => p.Type == GptSpec.BiosBootPartition.ToString() || p.IsActive) ? GuestBootMode.Bios
            : GuestBootMode.Unknown;
        return new GuestDiskLayout
        {
            Scheme = PartitionScheme.Gpt,
            Partitions = partitions,
            BootMode = bootMode,
            SectorSize = sectorSize,
            GptBackupHeaderOffset = alternate * sectorSize,
            GptBackupAtEnd = alternate == (capacity / sectorSize) - 1,
            Warnings = warnings,
        };
    }
}

/// <summary>Reads <paramref name="buffer"/>.Length bytes at <paramref name="offset"/>.</summary>
internal delegate ValueTask ReadAt(long offset, Memory<byte> buffer, CancellationToken cancellationToken);

/// <summary>Writes <paramref name="data"/> at <paramref name="offset"/>.</summary>
internal delegate ValueTask WriteAt(long offset, ReadOnlyMemory<byte> data, CancellationToken cancellationToken);
