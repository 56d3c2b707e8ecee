using System.Security.Cryptography;

namespace Whitesky.Nbd.Tests.Peers;

/// <summary>Deterministic test content and hashing.</summary>
public static class TestData
{
    public static byte[] Random(int length, int seed)
    {
        var bytes = new byte[length];
        new Random(seed).NextBytes(bytes);
        return bytes;
    }

    public static string Sha256(ReadOnlySpan<byte> data) => Convert.ToHexString(SHA256.HashData(data));

    public static async Task<string> Sha256FileAsync(string path)
    {
        await using var stream = File.OpenRead(path);
        return Convert.ToHexString(await SHA256.HashDataAsync(stream));
    }

    /// <summary>Writes a PSK file (identity:hexkey) and returns its path.</summary>
    public static string WritePskFile(TempDirectory dir, string identity, byte[] key, string name = "keys.psk")
    {
        var path = dir.File(name);
        File.WriteAllText(path, identity + ":" + Convert.ToHexString(key).ToLowerInvariant() + "\n");
        return path;
    }
}
