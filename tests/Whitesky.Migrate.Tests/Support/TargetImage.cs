using System.Security.Cryptography;
using Whitesky.Nbd.Tests.Peers;

namespace Whitesky.Migrate.Tests.Support;

/// <summary>Reads an export back with the real nbdcopy, to compare it with the source.</summary>
public static class TargetImage
{
    /// <summary>Copies the export at <paramref name="uri"/> to a file with nbdcopy and returns the SHA-256 of its first <paramref name="length"/> bytes (all by default).</summary>
    public static async Task<string> Sha256Async(string uri, TempDirectory dir, long? length = null)
    {
        var path = dir.File("readback-" + Guid.NewGuid().ToString("N") + ".raw");
        await ExternalTool.RunAsync("nbdcopy", [uri, path]);
        try
        {
            return await FileSha256Async(path, length);
        }
        finally
        {
            File.Delete(path);
        }
    }

    public static async Task<string> FileSha256Async(string path, long? length = null)
    {
        await using var stream = File.OpenRead(path);
        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        var buffer = new byte[1 << 20];
        var remaining = length ?? stream.Length;
        while (remaining > 0)
        {
            var read = await stream.ReadAsync(buffer.AsMemory(0, (int)Math.Min(buffer.Length, remaining)));
            if (read == 0)
            {
                break;
            }

            hash.AppendData(buffer, 0, read);
            remaining -= read;
        }

        return Convert.ToHexString(hash.GetHashAndReset());
    }

    /// <summary>Fills the whole export with random bytes (so zeroes must really be written).</summary>
    public static async Task FillWithRandomAsync(string uri, long size, TempDirectory dir)
    {
        var path = dir.File("garbage.raw");
        SparseImage.CreateRandom(path, size, seed: 99);
        await ExternalTool.RunAsync("nbdcopy", [path, uri]);
        File.Delete(path);
    }
}
