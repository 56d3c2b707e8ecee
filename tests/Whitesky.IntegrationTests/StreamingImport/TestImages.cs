using System.Security.Cryptography;
using Whitesky.Nbd.Tests.Peers;

namespace Whitesky.IntegrationTests.StreamingImport;

/// <summary>Small guest disks made at test time: a partition table written by sfdisk, random data in the partitions, holes elsewhere.</summary>
internal static class TestImages
{
    public const long Size = 64L << 20;

    /// <summary>Bytes of random data written into the partitions (the rest of the image is holes).</summary>
    public const long DataBytes = 12L << 20;

    /// <summary>A raw GPT disk: an EFI system partition and a Linux partition (sfdisk), then converted to <paramref name="format"/>.</summary>
    public static Task<string> GptWithEspAsync(TempDirectory dir, string name, string format, int seed) =>
        MakeAsync(dir, name, format, seed, "label: gpt\nsize=16MiB, type=U\ntype=L\n");

    /// <summary>A raw MBR disk with one bootable Linux partition (sfdisk), then converted to <paramref name="format"/>.</summary>
    public static Task<string> MbrAsync(TempDirectory dir, string name, string format, int seed) =>
        MakeAsync(dir, name, format, seed, "label: dos\ntype=83, bootable\n");

    /// <summary>SHA-256 of <c>qemu-img convert -O raw</c> of the image, and the raw file.</summary>
    public static async Task<(string Hash, string RawPath)> ConvertedRawAsync(string image, TempDirectory dir)
    {
        var raw = dir.File(Path.GetFileName(image) + ".expected.raw");
        await ExternalTool.RunAsync("qemu-img", ["convert", "-O", "raw", image, raw]);
        return (await TestData.Sha256FileAsync(raw), raw);
    }

    /// <summary>SHA-256 of <paramref name="length"/> bytes at <paramref name="offset"/> of a file.</summary>
    public static async Task<string> HashRangeAsync(string path, long offset, long length)
    {
        using var file = File.OpenHandle(path);
        using var sha = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        var buffer = new byte[1 << 20];
        while (length > 0)
        {
            var read = await RandomAccess.ReadAsync(file, buffer.AsMemory(0, (int)Math.Min(buffer.Length, length)), offset);
            Assert.True(read > 0, $"{path} ends before byte {offset}");
            sha.AppendData(buffer, 0, read);
            offset += read;
            length -= read;
        }

        return Convert.ToHexString(sha.GetHashAndReset());
    }

    /// <summary>Asserts that the disk file holds the raw image at its start and zeroes after it (qemu-img compare, which also checks the tail).</summary>
    public static async Task AssertDiskHoldsAsync(string diskFile, string expectedRaw, string expectedHash)
    {
        Assert.Equal(expectedHash, await HashRangeAsync(diskFile, 0, new FileInfo(expectedRaw).Length));
        var (code, stdout, stderr) = await ExternalTool.TryRunAsync("qemu-img", ["compare", "-f", "raw", "-F", "raw", expectedRaw, diskFile]);
        Assert.True(code == 0, $"qemu-img compare: {stdout} {stderr}");
    }

    private static async Task<string> MakeAsync(TempDirectory dir, string name, string format, int seed, string layout)
    {
        var raw = dir.File(name + ".raw");
        await using (var file = File.Create(raw))
        {
            file.SetLength(Size);
        }

        var script = dir.File(name + ".sfdisk");
        await File.WriteAllTextAsync(script, layout);
        await ExternalTool.RunAsync("sh", ["-c", $"sfdisk --no-reread --no-tell-kernel '{raw}' < '{script}'"]);

        // Data in 1 MiB runs inside the partitions (from 2 MiB on), with holes between them.
        using (var handle = File.OpenHandle(raw, FileMode.Open, FileAccess.ReadWrite))
        {
            var run = TestData.Random(1 << 20, seed);
            for (var i = 0; i < DataBytes >> 20; i++)
            {
                run[0] = (byte)i;
                RandomAccess.Write(handle, run, (2L << 20) + (i * (4L << 20)));
            }
        }

        if (format == "raw")
        {
            return raw;
        }

        var image = dir.File($"{name}.{format}");
        await ExternalTool.RunAsync("qemu-img", ["convert", "-f", "raw", "-O", format, raw, image]);
        File.Delete(raw);
        return image;
    }
}
