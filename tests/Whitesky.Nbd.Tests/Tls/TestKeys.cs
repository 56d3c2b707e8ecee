using System.Security.Cryptography;

namespace Whitesky.Nbd.Tests.Tls;

/// <summary>Random PSKs for one test, and the check that a text does not leak them.</summary>
internal static class TestKeys
{
    /// <summary>A fresh 32-byte key in the hexadecimal form of PSK files.</summary>
    public static string NewHexKey() => Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(32));

    /// <summary>Fails when <paramref name="text"/> contains any of the keys, or any 8-byte run of one, in either case.</summary>
    public static void AssertNoKeyIn(string text, params string[] hexKeys)
    {
        foreach (var hex in hexKeys)
        {
            Assert.DoesNotContain(hex, text, StringComparison.OrdinalIgnoreCase);
            for (var i = 0; i + 16 <= hex.Length; i += 16)
            {
                Assert.DoesNotContain(hex.Substring(i, 16), text, StringComparison.OrdinalIgnoreCase);
            }
        }
    }
}
