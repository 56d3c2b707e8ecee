using System.Buffers.Binary;
using System.Text;

namespace Whitesky.DiskFormats.Tests.Vhd;

/// <summary>
/// Writes VHD images the tests need and qemu cannot make: dynamic disks larger than 2040 GiB, differencing
/// disks with parent locators and partially set sector bitmaps, Azure-style fixed disks.
/// </summary>
internal sealed class TestVhdWriter(long size, int blockSize = 2 << 20)
{
    private const int Sector = 512;
    private readonly SortedDictionary<int, (byte[] Bitmap, byte[] Data)> _blocks = [];
    private readonly List<(string Code, byte[] Data)> _locators = [];

    public Guid UniqueId { get; init; } = Guid.NewGuid();

    public string CreatorApplication { get; init; } = "tst ";

    /// <summary>Differencing: the parent's unique id (written into the dynamic header).</summary>
    public Guid? ParentId { get; init; }

    /// <summary>Writes <paramref name="data"/> (whole sectors) at <paramref name="offset"/> and sets their bits in the sector bitmaps.</summary>
    public TestVhdWriter Write(long offset, ReadOnlySpan<byte> data)
    {
        if (offset % Sector != 0 || data.Length % Sector != 0)
        {
            throw new ArgumentException("whole sectors only");
        }

        for (var done = 0; done < data.Length; done += Sector)
        {
            var at = offset + done;
            var block = (int)(at / blockSize);
            var inBlock = (int)(at % blockSize);
            if (!_blocks.TryGetValue(block, out var b))
            {
                b = (new byte[BitmapSize], new byte[blockSize]);
                _blocks[block] = b;
            }

            data.Slice(done, Sector).CopyTo(b.Data.AsSpan(inBlock));
            var sector = inBlock / Sector;
            b.Bitmap[sector >> 3] |= (byte)(0x80 >> (sector & 7));
        }

        return this;
    }

    /// <summary>Allocates a block with all bitmap bits clear (a differencing block that still reads everything from the parent).</summary>
    public TestVhdWriter AllocateEmptyBlock(int block)
    {
        _blocks.TryAdd(block, (new byte[BitmapSize], new byte[blockSize]));
        return this;
    }

    /// <summary>Adds a parent locator: <c>W2ru</c>/<c>W2ku</c> are UTF-16LE, <c>Wi2r</c>/<c>Wi2k</c> single-byte.</summary>
    public TestVhdWriter Locator(string code, string path)
    {
        _locators.Add((code, code.StartsWith("W2", StringComparison.Ordinal) ? Encoding.Unicode.GetBytes(path) : Encoding.ASCII.GetBytes(path)));
        return this;
    }

    private int BitmapSize => ((blockSize / Sector / 8) + Sector - 1) / Sector * Sector;

    /// <summary>A dynamic (or, with a parent id, differencing) image.</summary>
    public void SaveDynamic(string path)
    {
        var entries = (int)((size + blockSize - 1) / blockSize);
        var batOffset = 512L + 1024;
        var batBytes = ((4L * entries) + Sector - 1) / Sector * Sector;
        var position = batOffset + batBytes;
        var locatorOffsets = new List<long>();
        foreach (var (_, data) in _locators)
        {
            locatorOffsets.Add(position);
            position += (data.Length + Sector - 1) / Sector * Sector;
        }

        using var file = new FileStream(path, FileMode.Create, FileAccess.Write);
        var footer = Footer(ParentId is null ? 3u : 4u, 512);
        file.Write(footer);

        var header = new byte[1024];
        "cxsparse"u8.CopyTo(header);
        BinaryPrimitives.WriteUInt64BigEndian(header.AsSpan(8), ulong.MaxValue);
        BinaryPrimitives.WriteUInt64BigEndian(header.AsSpan(16), (ulong)batOffset);
        BinaryPrimitives.WriteUInt32BigEndian(header.AsSpan(24), 0x00010000);
        BinaryPrimitives.WriteUInt32BigEndian(header.AsSpan(28), (uint)entries);
        BinaryPrimitives.WriteUInt32BigEndian(header.AsSpan(32), (uint)blockSize);
        if (ParentId is { } parent)
        {
            parent.TryWriteBytes(header.AsSpan(40, 16), bigEndian: true, out _);
            Encoding.BigEndianUnicode.GetBytes("parent.vhd").CopyTo(header.AsSpan(64));
        }

        for (var i = 0; i < _locators.Count; i++)
        {
            var entry = header.AsSpan(576 + (24 * i), 24);
            Encoding.ASCII.GetBytes(_locators[i].Code).CopyTo(entry);
            BinaryPrimitives.WriteUInt32BigEndian(entry[4..], (uint)((_locators[i].Data.Length + Sector - 1) / Sector * Sector));
            BinaryPrimitives.WriteUInt32BigEndian(entry[8..], (uint)_locators[i].Data.Length);
            BinaryPrimitives.WriteUInt64BigEndian(entry[16..], (ulong)locatorOffsets[i]);
        }

        BinaryPrimitives.WriteUInt32BigEndian(header.AsSpan(36), Checksum(header));
        file.Write(header);

        var bat = new byte[batBytes];
        bat.AsSpan().Fill(0xFF);
        var blockPosition = position;
        foreach (var block in _blocks.Keys)
        {
            BinaryPrimitives.WriteUInt32BigEndian(bat.AsSpan(4 * block), (uint)(blockPosition / Sector));
            blockPosition += BitmapSize + blockSize;
        }

        file.Write(bat);
        foreach (var (_, data) in _locators)
        {
            file.Write(data);
            file.Write(new byte[((data.Length + Sector - 1) / Sector * Sector) - data.Length]);
        }

        foreach (var (bitmap, data) in _blocks.Values)
        {
            file.Write(bitmap);
            file.Write(data);
        }

        file.Write(footer);
    }

    /// <summary>A fixed image: <paramref name="data"/> then the footer, whose geometry is written as given.</summary>
    public void SaveFixed(string path, ReadOnlySpan<byte> data, (ushort Cylinders, byte Heads, byte Sectors) geometry)
    {
        using var file = new FileStream(path, FileMode.Create, FileAccess.Write);
        file.Write(data);
        file.Write(Footer(2, ulong.MaxValue, geometry));
    }

    private byte[] Footer(uint type, ulong dataOffset, (ushort Cylinders, byte Heads, byte Sectors)? geometry = null)
    {
        var footer = new byte[512];
        "conectix"u8.CopyTo(footer);
        BinaryPrimitives.WriteUInt32BigEndian(footer.AsSpan(8), 2);
        BinaryPrimitives.WriteUInt32BigEndian(footer.AsSpan(12), 0x00010000);
        BinaryPrimitives.WriteUInt64BigEndian(footer.AsSpan(16), dataOffset);
        Encoding.Latin1.GetBytes(CreatorApplication).AsSpan(0, 4).CopyTo(footer.AsSpan(28));
        BinaryPrimitives.WriteUInt32BigEndian(footer.AsSpan(32), 0x000a0000);
        "Wi2k"u8.CopyTo(footer.AsSpan(36));
        BinaryPrimitives.WriteUInt64BigEndian(footer.AsSpan(40), (ulong)size);
        BinaryPrimitives.WriteUInt64BigEndian(footer.AsSpan(48), (ulong)size);
        var (c, h, s) = geometry ?? ((ushort)Math.Min(65535, size / (16 * 63 * 512)), (byte)16, (byte)63);
        BinaryPrimitives.WriteUInt16BigEndian(footer.AsSpan(56), c);
        footer[58] = h;
        footer[59] = s;
        BinaryPrimitives.WriteUInt32BigEndian(footer.AsSpan(60), type);
        UniqueId.TryWriteBytes(footer.AsSpan(68, 16), bigEndian: true, out _);
        BinaryPrimitives.WriteUInt32BigEndian(footer.AsSpan(64), Checksum(footer));
        return footer;
    }

    /// <summary>One's complement of the byte sum (the checksum field must be zero when this is called).</summary>
    public static uint Checksum(ReadOnlySpan<byte> bytes)
    {
        uint sum = 0;
        foreach (var b in bytes)
        {
            sum += b;
        }

        return ~sum;
    }
}
