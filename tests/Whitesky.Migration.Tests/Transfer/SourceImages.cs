using System.Security.Cryptography;
using Whitesky.DiskFormats.Tests.Vma;
using Whitesky.Migrate.Tests.Support;
using Whitesky.Nbd.Tests.Peers;

namespace Whitesky.Migration.Tests.Transfer;

/// <summary>Source images made at test time with qemu-img from a sparse raw file, and the raw content qemu-img decodes them to.</summary>
internal static class SourceImages
{
    public const long Size = 48L << 20;

    /// <summary>
    /// The formats the engine is tested with: qemu-img output options, or null for <c>vma</c>, which qemu-img cannot
    /// write (a Proxmox archive of one device, written by the format tests' VMA writer).
    /// </summary>
    public static readonly Dictionary<string, string[]?> Formats = new()
    {
        ["raw"] = [],
        ["qcow2"] = ["-O", "qcow2"],
        ["qcow2-compressed"] = ["-O", "qcow2", "-c"],
        ["vmdk-sparse"] = ["-O", "vmdk", "-o", "subformat=monolithicSparse"],
        ["vmdk-stream"] = ["-O", "vmdk", "-o", "subformat=streamOptimized"],

        // Without force_size qemu rounds the size up to a CHS geometry, so these disks are larger than the raw file.
        ["vhd-dynamic"] = ["-O", "vpc", "-o", "subformat=dynamic"],
        ["vhd-fixed"] = ["-O", "vpc", "-o", "subformat=fixed"],
        ["vhdx"] = ["-O", "vhdx", "-o", "block_size=1M"],
        ["vdi"] = ["-O", "vdi"],
        ["vdi-static"] = ["-O", "vdi", "-o", "static=on"],
        ["vma"] = null,
    };

    /// <summary>Each source with each transport: plain, and TLS-PSK.</summary>
    public static TheoryData<string, bool> WithTransports(IEnumerable<string> sources)
    {
        var data = new TheoryData<string, bool>();
        foreach (var source in sources)
        {
            data.Add(source, false);
            data.Add(source, true);
        }

        return data;
    }

    /// <summary>A sparse raw file: random runs (some unaligned), explicit zeroes, data at the very end. Returns the path.</summary>
    public static string CreateRaw(TempDirectory dir, string name = "source.raw", int seed = 1)
    {
        var path = dir.File(name);
        SparseImage.Create(path, Size,
            [(0, 1 << 20), ((3L << 20) + 12288, 700_416), (10L << 20, 3 << 20), (30L << 20, (4 << 20) + 4096), (Size - (1 << 20), 1 << 20)], seed);

        // Allocated zeroes: data to the file system, zero to the engine's detection.
        SparseImage.WriteAllocatedZeroes(path, 20L << 20, 256 << 10);
        return path;
    }

    /// <summary>Converts the raw file to <paramref name="format"/> (a key of <see cref="Formats"/>) with qemu-img.</summary>
    public static async Task<string> CreateAsync(TempDirectory dir, string format, string raw)
    {
        if (format == "raw")
        {
            return raw;
        }

        var path = dir.File("source." + format);
        if (Formats[format] is { } options)
        {
            await ExternalTool.RunAsync("qemu-img", ["convert", "-f", "raw", .. options, raw, path]);
            return path;
        }

        await File.WriteAllBytesAsync(path, VmaOf(await File.ReadAllBytesAsync(raw), shuffled: false));
        return path;
    }

    /// <summary>
    /// A VMA archive of one device holding <paramref name="content"/>; its clusters in offset order, or shuffled as a
    /// backup job may deliver them.
    /// </summary>
    public static byte[] VmaOf(byte[] content, bool shuffled)
    {
        var writer = new VmaTestWriter();
        writer.AddConfig("qemu-server.conf", "memory: 1024\nscsi0: local:100/vm-100-disk-0.raw\n"u8.ToArray());
        writer.AddDevice("drive-scsi0", content);
        return writer.Build(shuffled ? writer.ShuffledClusters(7) : writer.AllClusters());
    }

    /// <summary>
    /// What qemu-img decodes for the reference content, and its format (qemu probes a fixed VHD, whose footer is only at
    /// its end, as raw): the image itself, or for a VMA archive the raw file it was built from.
    /// </summary>
    public static (string Path, string Format) QemuReadable(string format, string image, string raw) =>
        Formats[format] is { Length: > 1 } options ? (image, options[1]) : (raw, "raw");

    /// <summary>SHA-256 of what qemu-img decodes the image to (of the format given, or as qemu probes it).</summary>
    public static async Task<string> ReferenceSha256Async(TempDirectory dir, string image, string? format = null)
    {
        var raw = dir.File("reference-" + Guid.NewGuid().ToString("N") + ".raw");
        await ExternalTool.RunAsync("qemu-img", ["convert", .. format is null ? Array.Empty<string>() : ["-f", format], "-O", "raw", image, raw]);
        try
        {
            return await FileSha256Async(raw);
        }
        finally
        {
            File.Delete(raw);
        }
    }

    /// <summary>SHA-256 of the export, read back with the real nbdcopy.</summary>
    public static async Task<string> ExportSha256Async(TempDirectory dir, string uri)
    {
        var path = dir.File("readback-" + Guid.NewGuid().ToString("N") + ".raw");
        await ExternalTool.RunAsync("nbdcopy", [uri, path]);
        try
        {
            return await FileSha256Async(path);
        }
        finally
        {
            File.Delete(path);
        }
    }

    public static async Task<string> FileSha256Async(string path)
    {
        await using var stream = File.OpenRead(path);
        return Convert.ToHexString(await SHA256.HashDataAsync(stream));
    }

    /// <summary>Bytes in 4 KiB blocks of the raw file that hold a non-zero byte, outside <paramref name="excluded"/>.</summary>
    public static long NonZeroBlockBytes(string raw, IReadOnlyList<Whitesky.Migration.Transfer.TransferRange>? excluded = null)
    {
        var data = File.ReadAllBytes(raw);
        long total = 0;
        for (var offset = 0; offset < data.Length; offset += 4096)
        {
            if (excluded?.Any(r => offset >= r.Offset && offset < r.End) == true)
            {
                continue;
            }

            if (data.AsSpan(offset, Math.Min(4096, data.Length - offset)).IndexOfAnyExcept((byte)0) >= 0)
            {
                total += Math.Min(4096, data.Length - offset);
            }
        }

        return total;
    }
}
