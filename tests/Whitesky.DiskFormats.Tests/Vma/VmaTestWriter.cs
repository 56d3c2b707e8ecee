using System.Buffers.Binary;
using System.Security.Cryptography;
using System.Text;

namespace Whitesky.DiskFormats.Tests.Vma;

/// <summary>
/// Writes VMA archives as the pve-qemu vma_spec.txt describes them (there is no <c>vma</c> tool on Debian to make
/// them): a header with a blob buffer of config files and device names, then extents of up to 59 clusters, each
/// storing only its non-zero 4 KiB blocks. Clusters go in whatever order the test gives, devices interleaved.
/// </summary>
internal sealed class VmaTestWriter
{
    public const int ClusterSize = 65536;
    public const int BlockSize = 4096;
    public const int HeaderFixedSize = 12288;

    private readonly List<(string Name, byte[] Content)> _devices = [];
    private readonly List<(string Name, byte[] Data)> _configs = [];

    public byte[] Uuid { get; } = RandomNumberGenerator.GetBytes(16);

    public long CreationTime { get; set; } = 1_700_000_000;

    /// <summary>Adds a device; its dev_id is its position + 1.</summary>
    public int AddDevice(string name, byte[] content)
    {
        _devices.Add((name, content));
        return _devices.Count;
    }

    public void AddConfig(string name, byte[] data) => _configs.Add((name, data));

    /// <summary>Every cluster of every device, as (dev_id, cluster), in device then offset order.</summary>
    public List<(int DeviceId, uint Cluster)> AllClusters()
    {
        var all = new List<(int, uint)>();
        for (var i = 0; i < _devices.Count; i++)
        {
            var clusters = (_devices[i].Content.Length + ClusterSize - 1) / ClusterSize;
            for (uint c = 0; c < clusters; c++)
            {
                all.Add((i + 1, c));
            }
        }

        return all;
    }

    /// <summary>Every cluster, shuffled and devices interleaved (the order a backup job may deliver them in).</summary>
    public List<(int DeviceId, uint Cluster)> ShuffledClusters(int seed)
    {
        var all = AllClusters();
        var random = new Random(seed);
        for (var i = all.Count - 1; i > 0; i--)
        {
            var j = random.Next(i + 1);
            (all[i], all[j]) = (all[j], all[i]);
        }

        return all;
    }

    /// <summary>The archive: header, then the clusters in <paramref name="order"/>, <paramref name="perExtent"/> per extent at most.</summary>
    public byte[] Build(IReadOnlyList<(int DeviceId, uint Cluster)> order, int perExtent = 59)
    {
        using var output = new MemoryStream();
        output.Write(BuildHeader());
        for (var start = 0; start < order.Count; start += perExtent)
        {
            var group = order.Skip(start).Take(perExtent).ToList();
            output.Write(BuildExtent(group));
        }

        return output.ToArray();
    }

    /// <summary>The offsets of the extents of an archive built by <see cref="Build"/>.</summary>
    public static List<int> ExtentOffsets(byte[] archive)
    {
        var offsets = new List<int>();
        var at = (int)BinaryPrimitives.ReadUInt32BigEndian(archive.AsSpan(56));
        while (at < archive.Length)
        {
            offsets.Add(at);
            at += 512 + (BinaryPrimitives.ReadUInt16BigEndian(archive.AsSpan(at + 6)) * BlockSize);
        }

        return offsets;
    }

    /// <summary>Recomputes the md5 of the header (after a test changed it on purpose).</summary>
    public static void RehashHeader(byte[] archive)
    {
        var size = (int)BinaryPrimitives.ReadUInt32BigEndian(archive.AsSpan(56));
        archive.AsSpan(32, 16).Clear();
        MD5.HashData(archive.AsSpan(0, size)).CopyTo(archive, 32);
    }

    /// <summary>Recomputes the md5 of the extent header at <paramref name="offset"/>.</summary>
    public static void RehashExtent(byte[] archive, int offset)
    {
        archive.AsSpan(offset + 24, 16).Clear();
        MD5.HashData(archive.AsSpan(offset, 512)).CopyTo(archive, offset + 24);
    }

    private byte[] BuildHeader()
    {
        // Blob buffer: position 0 unused (pointers of 0 mean "none"), then size (2 bytes, little-endian) + data.
        var blobs = new MemoryStream();
        blobs.WriteByte(0);
        uint AddBlob(byte[] data)
        {
            var at = (uint)blobs.Position;
            Span<byte> size = stackalloc byte[2];
            BinaryPrimitives.WriteUInt16LittleEndian(size, (ushort)data.Length);
            blobs.Write(size);
            blobs.Write(data);
            return at;
        }

        uint AddString(string text) => AddBlob([.. Encoding.UTF8.GetBytes(text), 0]);

        var configPointers = _configs.Select(c => (Name: AddString(c.Name), Data: AddBlob(c.Data))).ToList();
        var devicePointers = _devices.Select(d => AddString(d.Name)).ToList();
        var blobLength = (int)((blobs.Length + 511) / 512 * 512);
        var header = new byte[HeaderFixedSize + blobLength];
        BinaryPrimitives.WriteUInt32BigEndian(header, 0x564D4100);
        BinaryPrimitives.WriteUInt32BigEndian(header.AsSpan(4), 1);
        Uuid.CopyTo(header, 8);
        BinaryPrimitives.WriteInt64BigEndian(header.AsSpan(24), CreationTime);
        BinaryPrimitives.WriteUInt32BigEndian(header.AsSpan(48), HeaderFixedSize);
        BinaryPrimitives.WriteUInt32BigEndian(header.AsSpan(52), (uint)blobLength);
        BinaryPrimitives.WriteUInt32BigEndian(header.AsSpan(56), (uint)header.Length);
        for (var i = 0; i < configPointers.Count; i++)
        {
            BinaryPrimitives.WriteUInt32BigEndian(header.AsSpan(2044 + (i * 4)), configPointers[i].Name);
            BinaryPrimitives.WriteUInt32BigEndian(header.AsSpan(3068 + (i * 4)), configPointers[i].Data);
        }

        for (var i = 0; i < _devices.Count; i++)
        {
            var at = 4096 + ((i + 1) * 32);
            BinaryPrimitives.WriteUInt32BigEndian(header.AsSpan(at), devicePointers[i]);
            BinaryPrimitives.WriteUInt64BigEndian(header.AsSpan(at + 8), (ulong)_devices[i].Content.Length);
        }

        blobs.ToArray().CopyTo(header, HeaderFixedSize);
        RehashHeader(header);
        return header;
    }

    private byte[] BuildExtent(List<(int DeviceId, uint Cluster)> group)
    {
        var data = new MemoryStream();
        var header = new byte[512];
        BinaryPrimitives.WriteUInt32BigEndian(header, 0x564D4145);
        Uuid.CopyTo(header, 8);
        var blocks = 0;
        for (var i = 0; i < group.Count; i++)
        {
            var (deviceId, cluster) = group[i];
            var content = _devices[deviceId - 1].Content;
            ushort mask = 0;
            for (var b = 0; b < 16; b++)
            {
                var block = Block(content, ((long)cluster * ClusterSize) + (b * BlockSize));
                if (block.AsSpan().ContainsAnyExcept((byte)0))
                {
                    mask |= (ushort)(1 << b);
                    data.Write(block);
                    blocks++;
                }
            }

            var info = ((ulong)mask << 48) | ((ulong)(byte)deviceId << 32) | cluster;
            BinaryPrimitives.WriteUInt64BigEndian(header.AsSpan(40 + (i * 8)), info);
        }

        BinaryPrimitives.WriteUInt16BigEndian(header.AsSpan(6), (ushort)blocks);
        var extent = new byte[512 + data.Length];
        header.CopyTo(extent, 0);
        data.ToArray().CopyTo(extent, 512);
        RehashExtent(extent, 0);
        return extent;
    }

    /// <summary>A 4 KiB block of the device, zero-padded past its end.</summary>
    private static byte[] Block(byte[] content, long offset)
    {
        var block = new byte[BlockSize];
        if (offset < content.Length)
        {
            content.AsSpan((int)offset, (int)Math.Min(BlockSize, content.Length - offset)).CopyTo(block);
        }

        return block;
    }
}
