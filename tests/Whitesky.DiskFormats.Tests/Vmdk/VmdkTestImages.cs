using System.Buffers.Binary;
using System.IO.Compression;
using System.Security.Cryptography;
using Whitesky.DiskFormats.Tests.Raw;
using Whitesky.Nbd.Tests.Peers;

namespace Whitesky.DiskFormats.Tests.Vmdk;

/// <summary>Builds VMDK images with qemu-img / qemu-io and compares our reading of them with qemu's.</summary>
internal static class VmdkTestImages
{
    public static Task QemuIoAsync(string path, params string[] commands) =>
        ExternalTool.RunAsync("qemu-io", ["-f", "vmdk", .. commands.SelectMany(c => new[] { "-c", c }), path]);

    public static async Task<string> CreateAsync(TempDirectory dir, string name, string size, params string[] options)
    {
        var path = dir.File(name);
        await ExternalTool.RunAsync("qemu-img", ["create", "-q", "-f", "vmdk", .. options.SelectMany(o => new[] { "-o", o }), path, size]);
        return path;
    }

    /// <summary>A raw file with random data, a pattern, and holes, made into a VMDK by qemu-img convert.</summary>
    public static async Task<string> ConvertFromPatternedRawAsync(TempDirectory dir, string name, string subformat, long size = 32L << 20)
    {
        var raw = dir.File(name + ".src.raw");
        await ExternalTool.RunAsync("qemu-img", ["create", "-q", "-f", "raw", raw, size.ToString(System.Globalization.CultureInfo.InvariantCulture)]);
        await ExternalTool.RunAsync("qemu-io", ["-f", "raw", "-c", "write -P 0xaa 1M 3M", "-c", "write -P 0x55 20M 64k", raw]);
        await using (var file = new FileStream(raw, FileMode.Open, FileAccess.Write))
        {
            file.Position = 8L << 20;
            file.Write(TestData.Random(3 << 20, 7));
            file.Position = (12L << 20) + 4096 + 17;
            file.Write(TestData.Random(100_000, 8));
            file.Position = size - 512;
            file.Write(TestData.Random(512, 9));
        }

        var path = dir.File(name);
        await ExternalTool.RunAsync("qemu-img", ["convert", "-f", "raw", "-O", "vmdk", "-o", "subformat=" + subformat, raw, path]);
        return path;
    }

    public static async Task<string> QemuSha256Async(string path, TempDirectory dir)
    {
        var raw = dir.File(Path.GetFileName(path) + ".qemu.raw");
        await ExternalTool.RunAsync("qemu-img", ["convert", "-f", "vmdk", "-O", "raw", path, raw]);
        var hash = await TestData.Sha256FileAsync(raw);
        File.Delete(raw);
        return hash;
    }

    public static async Task<string> OurSha256Async(IVirtualDisk disk)
    {
        using var sha = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        var buffer = new byte[4 << 20];
        for (long offset = 0; offset < disk.Capacity; offset += buffer.Length)
        {
            var count = (int)Math.Min(buffer.Length, disk.Capacity - offset);
            await disk.ReadAsync(offset, buffer.AsMemory(0, count));
            sha.AppendData(buffer, 0, count);
        }

        return Convert.ToHexString(sha.GetHashAndReset());
    }

    /// <summary>Opens the image and checks content (SHA-256) and data map against qemu-img.</summary>
    public static async Task<IVirtualDisk> OpenAndCompareAsync(string path, TempDirectory dir)
    {
        var disk = await DiskImage.OpenAsync(path);
        try
        {
            Assert.Equal("vmdk", disk.Describe().Format);
            Assert.Equal(await QemuSha256Async(path, dir), await OurSha256Async(disk));
            Assert.Equal(await RawDiskTests.QemuMapAsync(path, "vmdk"), await RawDiskTests.OurMapAsync(disk));
            return disk;
        }
        catch
        {
            await disk.DisposeAsync();
            throw;
        }
    }

    public static byte[] Deflate(ReadOnlySpan<byte> data)
    {
        using var output = new MemoryStream();
        using (var z = new ZLibStream(output, CompressionLevel.Optimal, leaveOpen: true))
        {
            z.Write(data);
        }

        return output.ToArray();
    }

    /// <summary>Header fields of a sparse extent file.</summary>
    public static (long Capacity, long GrainSectors, long GdOffset, uint GtEntries, long DescriptorEnd) ReadHeader(byte[] image) => (
        (long)BinaryPrimitives.ReadUInt64LittleEndian(image.AsSpan(12)),
        (long)BinaryPrimitives.ReadUInt64LittleEndian(image.AsSpan(20)),
        (long)BinaryPrimitives.ReadUInt64LittleEndian(image.AsSpan(56)),
        BinaryPrimitives.ReadUInt32LittleEndian(image.AsSpan(44)),
        (long)(BinaryPrimitives.ReadUInt64LittleEndian(image.AsSpan(28)) + BinaryPrimitives.ReadUInt64LittleEndian(image.AsSpan(36))));

    /// <summary>The grain table entry (sector) of a grain of a sparse extent file.</summary>
    public static uint GrainEntry(byte[] image, long grain)
    {
        var (_, _, gd, gtes, _) = ReadHeader(image);
        var gt = BinaryPrimitives.ReadUInt32LittleEndian(image.AsSpan((int)(gd * 512 + grain / gtes * 4)));
        return BinaryPrimitives.ReadUInt32LittleEndian(image.AsSpan((int)(gt * 512L + grain % gtes * 4)));
    }

    /// <summary>
    /// Rewrites a qemu-made streamOptimized file the way VMware lays it out: header with gdOffset = -1, the
    /// compressed grains, then each grain table behind a GT marker, the grain directory behind a GD marker, a
    /// footer marker with the real header, and an end-of-stream marker.
    /// </summary>
    public static byte[] ToVmwareStreamLayout(byte[] qemu)
    {
        var (capacity, grainSectors, gdOffset, gtes, descriptorEnd) = ReadHeader(qemu);
        Assert.True(descriptorEnd <= 128);
        var grains = (capacity + grainSectors - 1) / grainSectors;
        var tables = (int)((grains + gtes - 1) / gtes);
        using var output = new MemoryStream();
        output.Write(qemu, 0, (int)(descriptorEnd * 512));
        Pad(output, 128 * 512);

        var newTables = new uint[tables][];
        for (var t = 0; t < tables; t++)
        {
            newTables[t] = new uint[gtes];
            var gt = BinaryPrimitives.ReadUInt32LittleEndian(qemu.AsSpan((int)(gdOffset * 512 + t * 4)));
            if (gt == 0)
            {
                continue;
            }

            for (var i = 0; i < gtes && t * gtes + i < grains; i++)
            {
                var entry = BinaryPrimitives.ReadUInt32LittleEndian(qemu.AsSpan((int)(gt * 512L + i * 4)));
                if (entry == 0)
                {
                    continue;
                }

                var size = BinaryPrimitives.ReadInt32LittleEndian(qemu.AsSpan((int)(entry * 512L + 8)));
                newTables[t][i] = (uint)(output.Position / 512);
                output.Write(qemu, (int)(entry * 512L), 12 + size);
                Pad(output, 512);
            }
        }

        var directory = new uint[tables];
        for (var t = 0; t < tables; t++)
        {
            Marker(output, gtes * 4 / 512, 1);
            directory[t] = (uint)(output.Position / 512);
            foreach (var e in newTables[t])
            {
                output.Write(BitConverter.GetBytes(e));
            }

            Pad(output, 512);
        }

        Marker(output, (tables * 4 + 511) / 512, 2);
        var newGd = output.Position / 512;
        foreach (var e in directory)
        {
            output.Write(BitConverter.GetBytes(e));
        }

        Pad(output, 512);
        Marker(output, 1, 3);
        var footer = qemu.AsSpan(0, 512).ToArray();
        BinaryPrimitives.WriteUInt64LittleEndian(footer.AsSpan(56), (ulong)newGd);
        BinaryPrimitives.WriteUInt64LittleEndian(footer.AsSpan(48), 0);
        BinaryPrimitives.WriteUInt32LittleEndian(footer.AsSpan(8), BinaryPrimitives.ReadUInt32LittleEndian(footer.AsSpan(8)) & ~2u);
        BinaryPrimitives.WriteUInt64LittleEndian(footer.AsSpan(64), 128);
        output.Write(footer);
        Marker(output, 0, 0);

        var result = output.ToArray();
        var header = footer.AsSpan().ToArray();
        BinaryPrimitives.WriteUInt64LittleEndian(header.AsSpan(56), ulong.MaxValue);
        header.CopyTo(result, 0);
        return result;
    }

    private static void Marker(MemoryStream output, long value, uint type)
    {
        var sector = new byte[512];
        BinaryPrimitives.WriteUInt64LittleEndian(sector, (ulong)value);
        BinaryPrimitives.WriteUInt32LittleEndian(sector.AsSpan(12), type);
        output.Write(sector);
    }

    private static void Pad(MemoryStream output, int alignment)
    {
        var rest = (int)(output.Position % alignment);
        if (rest != 0)
        {
            output.Write(new byte[alignment - rest]);
        }
    }
}
