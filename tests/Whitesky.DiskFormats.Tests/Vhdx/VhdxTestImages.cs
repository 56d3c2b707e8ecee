using System.Buffers.Binary;
using System.Numerics;
using System.Text;
using Whitesky.Nbd.Tests.Peers;

namespace Whitesky.DiskFormats.Tests.Vhdx;

/// <summary>
/// Test-side VHDX knowledge, written from MS-VHDX independently of the decoder: CRC-32C, a reader of the
/// layout of qemu-made images (to predict allocation from their BAT), and a small writer for what qemu-img
/// cannot make (differencing disks, 4 KiB sectors).
/// </summary>
internal static class VhdxTestImages
{
    public const int MiB = 1 << 20;
    public static readonly Guid BatRegion = new("2DC27766-F623-4200-9D64-115E9BFD4A08");
    public static readonly Guid MetadataRegion = new("8B7CA206-4790-4B9A-B8FE-575F050F886E");
    public static readonly Guid FileParameters = new("CAA16737-FA36-4D43-B3B6-33F0AA44E76B");
    public static readonly Guid VirtualDiskSize = new("2FA54224-CD1B-4876-B211-5DBED83BF4B8");
    public static readonly Guid Page83 = new("BECA12AB-B2E6-4523-93EF-C309E000C746");
    public static readonly Guid LogicalSectorSize = new("8141BF1D-A96F-4709-BA47-F233A8FAAB5F");
    public static readonly Guid PhysicalSectorSize = new("CDA348C7-445D-4471-9CC9-E9885251C556");
    public static readonly Guid ParentLocator = new("A8D35F2D-B30B-454D-ABF7-D3D84834AB0C");
    public static readonly Guid VhdxLocatorType = new("B04AEFB7-D19E-4A81-B789-25B8E9445913");

    public static Task QemuIoAsync(string path, params string[] commands)
    {
        var args = new List<string> { "-f", "vhdx" };
        foreach (var command in commands)
        {
            args.Add("-c");
            args.Add(command);
        }

        args.Add(path);
        return ExternalTool.RunAsync("qemu-io", args);
    }

    public static async Task CreateAsync(string path, string options, long size)
    {
        await ExternalTool.RunAsync("qemu-img", ["create", "-q", "-f", "vhdx", "-o", options, path, size.ToString(System.Globalization.CultureInfo.InvariantCulture)]);
    }

    public static uint Crc32C(ReadOnlySpan<byte> data)
    {
        var crc = uint.MaxValue;
        foreach (var b in data)
        {
            crc = BitOperations.Crc32C(crc, b);
        }

        return ~crc;
    }

    /// <summary>Zeroes the checksum field at <paramref name="at"/> + 4 and stores the CRC of <paramref name="length"/> bytes.</summary>
    public static void Seal(byte[] file, int at, int length)
    {
        BinaryPrimitives.WriteUInt32LittleEndian(file.AsSpan(at + 4), 0);
        BinaryPrimitives.WriteUInt32LittleEndian(file.AsSpan(at + 4), Crc32C(file.AsSpan(at, length)));
    }

    public sealed record Layout(int BlockSize, int SectorSize, long Size, long BatOffset, long MetadataOffset, ulong[] Bat, long LogOffset, int CurrentHeader, Guid DataWriteGuid)
    {
        public long ChunkRatio => (1L << 23) * SectorSize / BlockSize;

        public ulong Entry(long block) => Bat[block + (block / ChunkRatio)];

        public long BatIndex(long block) => block + (block / ChunkRatio);
    }

    /// <summary>Reads the layout of a (qemu-made, valid) VHDX: first region table, metadata, BAT, current header.</summary>
    public static Layout ReadLayout(byte[] file)
    {
        var current = BinaryPrimitives.ReadUInt64LittleEndian(file.AsSpan((128 << 10) + 8)) > BinaryPrimitives.ReadUInt64LittleEndian(file.AsSpan((64 << 10) + 8)) ? 128 << 10 : 64 << 10;
        var dataWrite = new Guid(file.AsSpan(current + 32, 16));
        var logOffset = (long)BinaryPrimitives.ReadUInt64LittleEndian(file.AsSpan(current + 72));
        long bat = 0, batLength = 0, meta = 0;
        var count = BinaryPrimitives.ReadInt32LittleEndian(file.AsSpan((192 << 10) + 8));
        for (var i = 0; i < count; i++)
        {
            var e = file.AsSpan((192 << 10) + 16 + (32 * i), 32);
            var id = new Guid(e[..16]);
            if (id == BatRegion)
            {
                bat = (long)BinaryPrimitives.ReadUInt64LittleEndian(e[16..]);
                batLength = BinaryPrimitives.ReadUInt32LittleEndian(e[24..]);
            }
            else if (id == MetadataRegion)
            {
                meta = (long)BinaryPrimitives.ReadUInt64LittleEndian(e[16..]);
            }
        }

        int blockSize = 0, sectorSize = 0;
        long size = 0;
        var items = BinaryPrimitives.ReadUInt16LittleEndian(file.AsSpan((int)meta + 10));
        for (var i = 0; i < items; i++)
        {
            var e = file.AsSpan((int)meta + 32 + (32 * i), 32);
            var id = new Guid(e[..16]);
            var at = (int)meta + BinaryPrimitives.ReadInt32LittleEndian(e[16..]);
            if (id == FileParameters)
            {
                blockSize = BinaryPrimitives.ReadInt32LittleEndian(file.AsSpan(at));
            }
            else if (id == LogicalSectorSize)
            {
                sectorSize = BinaryPrimitives.ReadInt32LittleEndian(file.AsSpan(at));
            }
            else if (id == VirtualDiskSize)
            {
                size = BinaryPrimitives.ReadInt64LittleEndian(file.AsSpan(at));
            }
        }

        var entries = new ulong[batLength / 8];
        for (var i = 0; i < entries.Length; i++)
        {
            entries[i] = BinaryPrimitives.ReadUInt64LittleEndian(file.AsSpan((int)bat + (8 * i)));
        }

        return new Layout(blockSize, sectorSize, size, bat, meta, entries, logOffset, current, dataWrite);
    }

    /// <summary>The offset in the file of metadata item <paramref name="id"/>'s value.</summary>
    public static int MetadataItemOffset(byte[] file, Layout layout, Guid id)
    {
        var items = BinaryPrimitives.ReadUInt16LittleEndian(file.AsSpan((int)layout.MetadataOffset + 10));
        for (var i = 0; i < items; i++)
        {
            var e = file.AsSpan((int)layout.MetadataOffset + 32 + (32 * i), 32);
            if (new Guid(e[..16]) == id)
            {
                return (int)layout.MetadataOffset + BinaryPrimitives.ReadInt32LittleEndian(e[16..]);
            }
        }

        throw new InvalidOperationException($"no metadata item {id}");
    }

    /// <summary>What the BAT says of each block of a dynamic or fixed disk, as runs.</summary>
    /// <summary>
    /// The map the BAT gives; with <paramref name="fileMap"/> (the image file's own data and holes, from
    /// <c>qemu-img map -f raw</c> of it) a present block's payload that is a hole in the file is a zero run.
    /// </summary>
    public static List<(long Start, long Length, DiskExtentKind Kind)> KindsFromBat(Layout layout,
        IReadOnlyList<(long Start, long Length, bool Data)>? fileMap = null)
    {
        var runs = new List<(long Start, long Length, DiskExtentKind Kind)>();
        var blocks = (layout.Size + layout.BlockSize - 1) / layout.BlockSize;
        for (long b = 0; b < blocks; b++)
        {
            var kind = (layout.Entry(b) & 7) switch
            {
                6 => DiskExtentKind.Data,
                2 => DiskExtentKind.Zero,
                _ => DiskExtentKind.Unallocated,
            };
            var start = b * layout.BlockSize;
            var length = Math.Min(layout.BlockSize, layout.Size - start);
            if (kind != DiskExtentKind.Data || fileMap is null)
            {
                Add(runs, start, length, kind);
                continue;
            }

            var payload = (long)(layout.Entry(b) >> 20) << 20;
            foreach (var (fileStart, fileLength, data) in fileMap)
            {
                var from = Math.Max(fileStart, payload);
                var to = Math.Min(fileStart + fileLength, payload + length);
                if (to > from)
                {
                    Add(runs, start + (from - payload), to - from, data ? DiskExtentKind.Data : DiskExtentKind.Zero);
                }
            }
        }

        return runs;
    }

    public static void Add(List<(long Start, long Length, DiskExtentKind Kind)> runs, long start, long length, DiskExtentKind kind)
    {
        if (runs.Count > 0 && runs[^1].Kind == kind && runs[^1].Start + runs[^1].Length == start)
        {
            runs[^1] = (runs[^1].Start, runs[^1].Length + length, kind);
        }
        else
        {
            runs.Add((start, length, kind));
        }
    }

    public static async Task<List<(long Start, long Length, DiskExtentKind Kind)>> OurKindsAsync(IVirtualDisk disk, long offset = 0, long? length = null)
    {
        var runs = new List<(long Start, long Length, DiskExtentKind Kind)>();
        await foreach (var e in disk.GetExtentsAsync(offset, length ?? disk.Capacity))
        {
            Add(runs, e.Offset, e.Length, e.Kind);
        }

        return runs;
    }

    /// <summary>One block of a written image: its BAT state, its bytes, and (partially present) which sectors are present.</summary>
    public sealed record Block(int State, byte[]? Data = null, bool[]? Present = null);

    /// <summary>
    /// Writes a small VHDX: identifier, two headers, two region tables, metadata (with a parent locator when
    /// given), BAT, payload blocks and, for partially present blocks, sector bitmap blocks. 1 MiB alignment throughout.
    /// </summary>
    public sealed class Writer
    {
        public long Size { get; init; } = 64L * MiB;

        public int BlockSize { get; init; } = MiB;

        public int SectorSize { get; init; } = 512;

        public Guid DataWriteGuid { get; init; } = Guid.NewGuid();

        public IReadOnlyList<(string Key, string Value)>? Parent { get; init; }

        public List<(Guid Id, byte[] Value, uint Flags)> ExtraMetadata { get; } = [];

        public Dictionary<long, Block> Blocks { get; } = [];

        public byte[] Build()
        {
            var chunkRatio = (1L << 23) * SectorSize / BlockSize;
            var dataBlocks = (Size + BlockSize - 1) / BlockSize;
            var chunks = (dataBlocks + chunkRatio - 1) / chunkRatio;
            var batEntries = Parent is null ? dataBlocks + ((dataBlocks - 1) / chunkRatio) : chunks * (chunkRatio + 1);
            var batLength = ((batEntries * 8) + MiB - 1) / MiB * MiB;
            const long logOffset = MiB, metaOffset = 2 * MiB, batOffset = 3 * MiB;
            var next = batOffset + batLength;
            var bat = new ulong[batEntries];
            var payloads = new List<(long Offset, byte[] Data)>();
            var bitmaps = new Dictionary<long, (long Offset, byte[] Bits)>();
            foreach (var (index, block) in Blocks.OrderBy(b => b.Key))
            {
                ulong offset = 0;
                if (block.State is 6 or 7)
                {
                    offset = (ulong)next;
                    payloads.Add((next, block.Data ?? new byte[BlockSize]));
                    next += BlockSize;
                }

                bat[index + (index / chunkRatio)] = offset | (uint)block.State;
                if (block.State == 7)
                {
                    var chunk = index / chunkRatio;
                    if (!bitmaps.TryGetValue(chunk, out var bitmap))
                    {
                        bitmap = (next, new byte[MiB]);
                        bitmaps[chunk] = bitmap;
                        next += MiB;
                        bat[(chunk * (chunkRatio + 1)) + chunkRatio] = (ulong)bitmap.Offset | 6;
                    }

                    var sectorsPerBlock = BlockSize / SectorSize;
                    for (var s = 0; s < sectorsPerBlock; s++)
                    {
                        if (block.Present![s])
                        {
                            var bit = ((index % chunkRatio) * sectorsPerBlock) + s;
                            bitmap.Bits[bit >> 3] |= (byte)(1 << (int)(bit & 7));
                        }
                    }
                }
            }

            var file = new byte[next];
            "vhdxfile"u8.CopyTo(file);
            Encoding.Unicode.GetBytes("whitesky tests").CopyTo(file, 8);
            WriteHeader(file, 64 << 10, 7, logOffset);
            WriteHeader(file, 128 << 10, 8, logOffset);
            WriteRegionTable(file, 192 << 10, batOffset, batLength, metaOffset);
            WriteRegionTable(file, 256 << 10, batOffset, batLength, metaOffset);
            WriteMetadata(file, (int)metaOffset);
            for (var i = 0; i < bat.Length; i++)
            {
                BinaryPrimitives.WriteUInt64LittleEndian(file.AsSpan((int)batOffset + (8 * i)), bat[i]);
            }

            foreach (var (offset, data) in payloads)
            {
                data.CopyTo(file, offset);
            }

            foreach (var (offset, bits) in bitmaps.Values)
            {
                bits.CopyTo(file, offset);
            }

            return file;
        }

        private void WriteHeader(byte[] file, int at, ulong sequence, long logOffset)
        {
            var h = file.AsSpan(at, 4096);
            "head"u8.CopyTo(h);
            BinaryPrimitives.WriteUInt64LittleEndian(h[8..], sequence);
            Guid.NewGuid().TryWriteBytes(h[16..]);
            DataWriteGuid.TryWriteBytes(h[32..]);
            BinaryPrimitives.WriteUInt16LittleEndian(h[66..], 1);
            BinaryPrimitives.WriteUInt32LittleEndian(h[68..], MiB);
            BinaryPrimitives.WriteUInt64LittleEndian(h[72..], (ulong)logOffset);
            Seal(file, at, 4096);
        }

        private static void WriteRegionTable(byte[] file, int at, long batOffset, long batLength, long metaOffset)
        {
            var t = file.AsSpan(at, 64 << 10);
            "regi"u8.CopyTo(t);
            BinaryPrimitives.WriteUInt32LittleEndian(t[8..], 2);
            BatRegion.TryWriteBytes(t[16..]);
            BinaryPrimitives.WriteUInt64LittleEndian(t[32..], (ulong)batOffset);
            BinaryPrimitives.WriteUInt32LittleEndian(t[40..], (uint)batLength);
            BinaryPrimitives.WriteUInt32LittleEndian(t[44..], 1);
            MetadataRegion.TryWriteBytes(t[48..]);
            BinaryPrimitives.WriteUInt64LittleEndian(t[64..], (ulong)metaOffset);
            BinaryPrimitives.WriteUInt32LittleEndian(t[72..], MiB);
            BinaryPrimitives.WriteUInt32LittleEndian(t[76..], 1);
            Seal(file, at, 64 << 10);
        }

        private void WriteMetadata(byte[] file, int at)
        {
            var items = new List<(Guid Id, byte[] Value, uint Flags)>();
            var parameters = new byte[8];
            BinaryPrimitives.WriteUInt32LittleEndian(parameters, (uint)BlockSize);
            BinaryPrimitives.WriteUInt32LittleEndian(parameters.AsSpan(4), Parent is null ? 0u : 2u);
            items.Add((FileParameters, parameters, 4));
            items.Add((VirtualDiskSize, BitConverter.GetBytes(Size), 6));
            items.Add((Page83, Guid.NewGuid().ToByteArray(), 6));
            items.Add((LogicalSectorSize, BitConverter.GetBytes(SectorSize), 6));
            items.Add((PhysicalSectorSize, BitConverter.GetBytes(4096), 6));
            if (Parent is not null)
            {
                items.Add((ParentLocator, Locator(Parent), 4));
            }

            items.AddRange(ExtraMetadata);
            var t = file.AsSpan(at, MiB);
            "metadata"u8.CopyTo(t);
            BinaryPrimitives.WriteUInt16LittleEndian(t[10..], (ushort)items.Count);
            var valueAt = 64 << 10;
            for (var i = 0; i < items.Count; i++)
            {
                var e = t.Slice(32 + (32 * i), 32);
                items[i].Id.TryWriteBytes(e);
                BinaryPrimitives.WriteUInt32LittleEndian(e[16..], (uint)valueAt);
                BinaryPrimitives.WriteUInt32LittleEndian(e[20..], (uint)items[i].Value.Length);
                BinaryPrimitives.WriteUInt32LittleEndian(e[24..], items[i].Flags);
                items[i].Value.CopyTo(t[valueAt..]);
                valueAt += (items[i].Value.Length + 7) / 8 * 8;
            }
        }

        private static byte[] Locator(IReadOnlyList<(string Key, string Value)> entries)
        {
            var header = new byte[20 + (12 * entries.Count)];
            VhdxLocatorType.TryWriteBytes(header);
            BinaryPrimitives.WriteUInt16LittleEndian(header.AsSpan(18), (ushort)entries.Count);
            var strings = new List<byte>();
            for (var i = 0; i < entries.Count; i++)
            {
                var key = Encoding.Unicode.GetBytes(entries[i].Key);
                var value = Encoding.Unicode.GetBytes(entries[i].Value);
                var e = header.AsSpan(20 + (12 * i));
                BinaryPrimitives.WriteUInt32LittleEndian(e, (uint)(header.Length + strings.Count));
                strings.AddRange(key);
                BinaryPrimitives.WriteUInt32LittleEndian(e[4..], (uint)(header.Length + strings.Count));
                strings.AddRange(value);
                BinaryPrimitives.WriteUInt16LittleEndian(e[8..], (ushort)key.Length);
                BinaryPrimitives.WriteUInt16LittleEndian(e[10..], (ushort)value.Length);
            }

            return [.. header, .. strings];
        }
    }
}
