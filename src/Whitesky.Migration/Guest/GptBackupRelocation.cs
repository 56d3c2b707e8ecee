using System.Buffers.Binary;
using Microsoft.Win32.SafeHandles;
using Whitesky.Nbd;

namespace Whitesky.Migration.Guest;

/// <summary>What <see cref="GptBackupRelocation"/> did.</summary>
/// <param name="Moved">Whether the backup GPT was rewritten at the end of the disk.</param>
/// <param name="OldBackupOffset">Where the backup header was, in bytes (null without a GPT).</param>
/// <param name="NewBackupOffset">Where it is now, in bytes (null without a GPT).</param>
/// <param name="Reason">Why nothing was moved, when nothing was.</param>
public sealed record GptRelocationResult(bool Moved, long? OldBackupOffset, long? NewBackupOffset, string? Reason);

/// <summary>
/// After an image is copied onto a larger disk (whitesky disks are whole GB), its GPT's backup header sits
/// where the image ended instead of in the disk's last sector, and firmware then reports a corrupt table.
/// This rewrites the backup header and entry array at the new end and points the primary header at them
/// (as <c>sgdisk -e</c> does), growing the last usable LBA and the protective MBR to the new size.
/// Partitions are not touched; a table that fails its CRC checks is left as it is.
/// </summary>
public static class GptBackupRelocation
{
    /// <summary>Relocates the backup GPT of an NBD export, then flushes it.</summary>
    public static async Task<GptRelocationResult> MoveBackupToEndAsync(NbdClient target, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(target);
        var result = await MoveAsync(
            (o, b, ct) => target.ReadAsync(o, b, ct),
            (o, d, ct) => target.WriteAsync(o, d, NbdCommandFlags.None, ct),
            target.Export.Size,
            cancellationToken).ConfigureAwait(false);
        if (result.Moved)
        {
            await target.FlushAsync(cancellationToken).ConfigureAwait(false);
        }

        return result;
    }

    /// <summary>Relocates the backup GPT of a raw disk file to the file's end, then flushes the file.</summary>
    public static async Task<GptRelocationResult> MoveBackupToEndAsync(string rawDiskPath, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(rawDiskPath);
        using var handle = File.OpenHandle(rawDiskPath, FileMode.Open, FileAccess.ReadWrite, FileShare.Read, FileOptions.Asynchronous);
        var result = await MoveAsync(
            async (o, b, ct) => await ReadExactlyAsync(handle, o, b, ct).ConfigureAwait(false),
            (o, d, ct) => RandomAccess.WriteAsync(handle, d, o, ct),
            RandomAccess.GetLength(handle),
            cancellationToken).ConfigureAwait(false);
        if (result.Moved)
        {
            RandomAccess.FlushToDisk(handle);
        }

        return result;
    }

    internal static async Task<GptRelocationResult> MoveAsync(ReadAt read, WriteAt write, long capacity, CancellationToken cancellationToken)
    {
        var layout = await GuestDiskInspector.InspectAsync(read, capacity, cancellationToken).ConfigureAwait(false);
        if (layout.Scheme != PartitionScheme.Gpt)
        {
            return new GptRelocationResult(false, null, null, "The disk has no GPT.");
        }

        if (layout.Warnings.Count > 0)
        {
            return new GptRelocationResult(false, layout.GptBackupHeaderOffset, null, "The GPT is damaged, so it is left as it is: " + string.Join(" ", layout.Warnings));
        }

        var sectorSize = layout.SectorSize;
        var newLast = (capacity / sectorSize) - 1;
        var header = new byte[sectorSize];
        await read(sectorSize, header, cancellationToken).ConfigureAwait(false);
        var oldLast = BinaryPrimitives.ReadInt64LittleEndian(header.AsSpan(GptSpec.AlternateLbaOffset));
        if (oldLast == newLast)
        {
            return new GptRelocationResult(false, oldLast * sectorSize, oldLast * sectorSize, "The backup GPT is already at the end of the disk.");
        }

        if (oldLast > newLast)
        {
            return new GptRelocationResult(false, oldLast * sectorSize, null, $"The GPT expects a disk of at least {(oldLast + 1) * sectorSize} bytes; this one has {capacity}.");
        }

        var entryLba = BinaryPrimitives.ReadInt64LittleEndian(header.AsSpan(GptSpec.EntryLbaOffset));
        var arrayBytes = (long)BinaryPrimitives.ReadUInt32LittleEndian(header.AsSpan(GptSpec.EntryCountOffset))
            * BinaryPrimitives.ReadUInt32LittleEndian(header.AsSpan(GptSpec.EntrySizeOffset));
        var arraySectors = (arrayBytes + sectorSize - 1) / sectorSize;
        var entries = new byte[arraySectors * sectorSize];
        await read(entryLba * sectorSize, entries.AsMemory(0, (int)arrayBytes), cancellationToken).ConfigureAwait(false);

        var newEntryLba = newLast - arraySectors;
        var backup = (byte[])header.Clone();
        BinaryPrimitives.WriteInt64LittleEndian(backup.AsSpan(GptSpec.MyLbaOffset), newLast);
        BinaryPrimitives.WriteInt64LittleEndian(backup.AsSpan(GptSpec.AlternateLbaOffset), 1);
        BinaryPrimitives.WriteInt64LittleEndian(backup.AsSpan(GptSpec.LastUsableLbaOffset), newEntryLba - 1);
        BinaryPrimitives.WriteInt64LittleEndian(backup.AsSpan(GptSpec.EntryLbaOffset), newEntryLba);
        GptSpec.SealHeader(backup);
        BinaryPrimitives.WriteInt64LittleEndian(header.AsSpan(GptSpec.AlternateLbaOffset), newLast);
        BinaryPrimitives.WriteInt64LittleEndian(header.AsSpan(GptSpec.LastUsableLbaOffset), newEntryLba - 1);
        GptSpec.SealHeader(header);

        // Backup structures first, then the primary header that points at them, then the stale header goes.
        await write(newEntryLba * sectorSize, entries, cancellationToken).ConfigureAwait(false);
        await write(newLast * sectorSize, backup, cancellationToken).ConfigureAwait(false);
        await write(sectorSize, header, cancellationToken).ConfigureAwait(false);
        await GrowProtectiveMbrAsync(read, write, capacity, sectorSize, cancellationToken).ConfigureAwait(false);
        await write(oldLast * sectorSize, new byte[sectorSize], cancellationToken).ConfigureAwait(false);
        return new GptRelocationResult(true, oldLast * sectorSize, newLast * sectorSize, null);
    }

    private static async Task GrowProtectiveMbrAsync(ReadAt read, WriteAt write, long capacity, int sectorSize, CancellationToken cancellationToken)
    {
        var mbr = new byte[512];
        await read(0, mbr, cancellationToken).ConfigureAwait(false);
        for (var i = 0; i < GptSpec.MbrEntries; i++)
        {
            var entry = mbr.AsSpan(GptSpec.MbrPartitionTableOffset + (i * GptSpec.MbrEntrySize), GptSpec.MbrEntrySize);
            if (entry[4] == GptSpec.MbrTypeProtective && BinaryPrimitives.ReadUInt32LittleEndian(entry[8..]) == 1)
            {
                var sectors = (uint)Math.Min((capacity / sectorSize) - 1, uint.MaxValue);
                BinaryPrimitives.WriteUInt32LittleEndian(entry[12..], sectors);
                await write(0, mbr, cancellationToken).ConfigureAwait(false);
                return;
            }
        }
    }

    private static async ValueTask ReadExactlyAsync(SafeFileHandle handle, long offset, Memory<byte> buffer, CancellationToken cancellationToken)
    {
        while (!buffer.IsEmpty)
        {
            var read = await RandomAccess.ReadAsync(handle, buffer, offset, cancellationToken).ConfigureAwait(false);
            if (read == 0)
            {
                buffer.Span.Clear();
                return;
            }

            buffer = buffer[read..];
            offset += read;
        }
    }
}
