using System.Buffers.Binary;
using System.Security.Cryptography;

namespace Whitesky.DiskFormats.Vma;

/// <summary>An extent header (VmaExtentHeader in vma.h), checked against the archive's header.</summary>
internal static class VmaExtentHeader
{
    /// <summary>
    /// Checks the 512-byte header at <paramref name="offset"/> of the archive and fills <paramref name="entries"/> with its
    /// used cluster entries (in order: their blocks follow the header in that order). Returns the bytes of data after the header.
    /// </summary>
    public static int Parse(ReadOnlySpan<byte> header, VmaHeader archive, string image, long offset, List<VmaClusterEntry> entries)
    {
        entries.Clear();
        var magic = BinaryPrimitives.ReadUInt32BigEndian(header);
        if (magic != VmaSpec.ExtentMagic || BinaryPrimitives.ReadUInt16BigEndian(header[VmaSpec.ExtentReservedOffset..]) != 0)
        {
            throw new DiskFormatException(image, "VMA extent header", offset, $"magic 0x{magic:x8} is not \"VMAE\" (or its reserved field is set)");
        }

        Span<byte> copy = stackalloc byte[VmaSpec.ExtentHeaderSize];
        header[..VmaSpec.ExtentHeaderSize].CopyTo(copy);
        copy.Slice(VmaSpec.ExtentMd5Offset, VmaSpec.Md5Size).Clear();
        Span<byte> computed = stackalloc byte[VmaSpec.Md5Size];
        MD5.HashData(copy, computed);
        var stored = header.Slice(VmaSpec.ExtentMd5Offset, VmaSpec.Md5Size);
        if (!computed.SequenceEqual(stored))
        {
            throw new DiskFormatException(image, "VMA extent header", offset + VmaSpec.ExtentMd5Offset,
                $"md5 {Convert.ToHexStringLower(stored)} does not match the extent header's {Convert.ToHexStringLower(computed)} (corrupt)");
        }

        if (!header.Slice(VmaSpec.ExtentUuidOffset, VmaSpec.UuidSize).SequenceEqual(archive.UuidBytes))
        {
            throw new DiskFormatException(image, "VMA extent header", offset + VmaSpec.ExtentUuidOffset,
                $"uuid {new Guid(header.Slice(VmaSpec.ExtentUuidOffset, VmaSpec.UuidSize), bigEndian: true)} is not the archive's {archive.Uuid}");
        }

        var blocks = 0;
        for (var i = 0; i < VmaSpec.BlocksPerExtent; i++)
        {
            var at = VmaSpec.ExtentBlockInfoOffset + (i * 8);
            var info = BinaryPrimitives.ReadUInt64BigEndian(header[at..]);
            var deviceId = (int)((info >> 32) & 0xFF);
            if (deviceId == 0)
            {
                continue;
            }

            var cluster = (uint)info;
            var mask = (ushort)(info >> 48);
            var device = archive.DeviceById(deviceId)
                ?? throw new DiskFormatException(image, $"VMA extent blockinfo {i}", offset + at, $"dev_id {deviceId} is not in the archive's device table ({archive.DescribeDevices()})");
            if ((long)cluster * VmaSpec.ClusterSize >= device.Size)
            {
                throw new DiskFormatException(image, $"VMA extent blockinfo {i}", offset + at,
                    $"cluster {cluster} of device {device.Name} starts beyond its size of {device.Size} bytes");
            }

            var entry = new VmaClusterEntry(device, cluster, mask);
            blocks += entry.BlockCount;
            entries.Add(entry);
        }

        var blockCount = BinaryPrimitives.ReadUInt16BigEndian(header[VmaSpec.ExtentBlockCountOffset..]);
        if (blockCount != blocks)
        {
            throw new DiskFormatException(image, "VMA extent header", offset + VmaSpec.ExtentBlockCountOffset,
                $"block_count {blockCount} is not the {blocks} blocks its cluster masks mark present");
        }

        return blocks * VmaSpec.BlockSize;
    }
}
