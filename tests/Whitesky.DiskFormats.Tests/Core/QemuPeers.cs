using System.Security.Cryptography;
using System.Text.Json;
using Whitesky.Nbd.Tests.Peers;

namespace Whitesky.DiskFormats.Tests.Core;

/// <summary>Builds images of any format qemu writes with qemu-img/qemu-io and compares our reading of them with qemu's.</summary>
internal static class QemuPeers
{
    /// <summary>Runs qemu-io commands on an image of <paramref name="format"/> (qemu's name: qcow2, vpc, vdi, ...).</summary>
    public static Task QemuIoAsync(string format, string path, params string[] commands)
    {
        var args = new List<string> { "-f", format };
        foreach (var command in commands)
        {
            args.Add("-c");
            args.Add(command);
        }

        args.Add(path);
        return ExternalTool.RunAsync("qemu-io", args);
    }

    /// <summary>qemu-img map as (start, length, kind) runs: data, zero (present but not data) or unallocated (not present).</summary>
    public static async Task<List<(long Start, long Length, DiskExtentKind Kind)>> QemuKindsAsync(string path, string format)
    {
        var json = JsonDocument.Parse(await ExternalTool.RunAsync("qemu-img", ["map", "--output=json", "-f", format, path]));
        var runs = new List<(long Start, long Length, DiskExtentKind Kind)>();
        foreach (var e in json.RootElement.EnumerateArray())
        {
            var kind = e.GetProperty("data").GetBoolean() ? DiskExtentKind.Data
                : e.GetProperty("present").GetBoolean() ? DiskExtentKind.Zero
                : DiskExtentKind.Unallocated;
            Add(runs, e.GetProperty("start").GetInt64(), e.GetProperty("length").GetInt64(), kind);
        }

        return runs;
    }

    public static async Task<List<(long Start, long Length, DiskExtentKind Kind)>> OurKindsAsync(IVirtualDisk disk)
    {
        var runs = new List<(long Start, long Length, DiskExtentKind Kind)>();
        await foreach (var e in disk.GetExtentsAsync(0, disk.Capacity))
        {
            Add(runs, e.Offset, e.Length, e.Kind);
        }

        return runs;
    }

    private static void Add(List<(long Start, long Length, DiskExtentKind Kind)> runs, long start, long length, DiskExtentKind kind)
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

    /// <summary>SHA-256 of qemu-img's raw conversion of the image (its format probed by qemu unless given).</summary>
    public static async Task<(string Hash, byte[] Content)> QemuContentAsync(TempDirectory dir, string path, string? format = null)
    {
        var raw = dir.File(Path.GetFileName(path) + ".converted.raw");
        await ExternalTool.RunAsync("qemu-img", format is null ? ["convert", "-O", "raw", path, raw] : ["convert", "-f", format, "-O", "raw", path, raw]);
        var content = await File.ReadAllBytesAsync(raw);
        File.Delete(raw);
        return (TestData.Sha256(content), content);
    }

    /// <summary>Reads the whole disk at once, then again in uneven concurrent chunks, and checks both against qemu.</summary>
    public static async Task AssertReadsLikeQemuAsync(TempDirectory dir, string path, string format, IVirtualDisk disk, bool kindsToo = true)
    {
        var (hash, expected) = await QemuContentAsync(dir, path, format);
        Assert.Equal(expected.LongLength, disk.Capacity);

        var whole = new byte[disk.Capacity];
        await disk.ReadAsync(0, whole);
        Assert.Equal(hash, TestData.Sha256(whole));

        var chunked = new byte[disk.Capacity];
        const int chunk = (1 << 20) + 4608;
        var starts = new List<long>();
        for (long at = 0; at < disk.Capacity; at += chunk)
        {
            starts.Add(at);
        }

        await Parallel.ForEachAsync(starts, async (at, ct) =>
        {
            var length = (int)Math.Min(chunk, disk.Capacity - at);
            await disk.ReadAsync(at, chunked.AsMemory((int)at, length), ct);
        });
        Assert.Equal(hash, TestData.Sha256(chunked));

        var qemuMap = await Raw.RawDiskTests.QemuMapAsync(path, format);
        Assert.Equal(qemuMap, await Raw.RawDiskTests.OurMapAsync(disk));
        var ours = await OurKindsAsync(disk);
        if (kindsToo)
        {
            Assert.Equal(await QemuKindsAsync(path, format), ours);
        }

        // A map of any sub-range is the whole map clipped to it.
        var random = new Random(17);
        for (var i = 0; i < 20; i++)
        {
            var start = random.NextInt64(0, disk.Capacity);
            var length = random.NextInt64(0, disk.Capacity - start + 1);
            var expectedRuns = ours
                .Where(r => r.Start < start + length && r.Start + r.Length > start)
                .Select(r => (Start: Math.Max(r.Start, start), End: Math.Min(r.Start + r.Length, start + length), r.Kind))
                .Select(r => (r.Start, r.End - r.Start, r.Kind))
                .ToList();
            var actual = new List<(long Start, long Length, DiskExtentKind Kind)>();
            await foreach (var e in disk.GetExtentsAsync(start, length))
            {
                Add(actual, e.Offset, e.Length, e.Kind);
            }

            Assert.Equal(expectedRuns, actual);
        }
    }

    /// <summary>Half random, half compressible content.</summary>
    public static byte[] MixedContent(int length, int seed)
    {
        var data = TestData.Random(length, seed);
        var text = "the quick brown fox jumps over the lazy qcow2 cluster "u8;
        for (var at = 0; at < length; at += 256 << 10)
        {
            for (var i = at; i < Math.Min(length, at + (128 << 10)); i++)
            {
                data[i] = text[(i - at) % text.Length];
            }
        }

        Array.Clear(data, length / 2, Math.Min(1 << 20, length / 4));
        return data;
    }

    public static string Hash(byte[] data) => Convert.ToHexString(SHA256.HashData(data));
}
