using Whitesky.Nbd.Tests.Peers;

namespace Whitesky.Nbd.Tests.Server.Interop;

/// <summary>
/// A known layout of data and zeroes for an 8 MiB disk, and the <c>base:allocation</c> map it must
/// produce (the test backends report allocation in 4 KiB blocks, so a short data run rounds up to a block).
/// </summary>
internal static class DiskPattern
{
    public const int Size = 8 << 20;

    private const int MiB = 1 << 20;

    /// <summary>Data at [0, 1M), [3M, 3M+4196) and [6M, 8M); zeroes elsewhere.</summary>
    public static byte[] Create(int seed)
    {
        var bytes = TestData.Random(Size, seed);
        Array.Clear(bytes, 1 * MiB, 2 * MiB);
        Array.Clear(bytes, (3 * MiB) + 4096 + 100, (3 * MiB) - 4096 - 100);
        return bytes;
    }

    public static List<(long Offset, long Length, uint Flags)> ExpectedMap =>
    [
        (0, 1 * MiB, 0),
        (1 * MiB, 2 * MiB, 3),
        (3 * MiB, 8192, 0),
        ((3 * MiB) + 8192, (3 * MiB) - 8192, 3),
        (6 * MiB, 2 * MiB, 0),
    ];
}
