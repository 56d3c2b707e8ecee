using Whitesky.DiskFormats.Tests.Core;
using Whitesky.Nbd.Tests.Peers;

namespace Whitesky.DiskFormats.Tests.Qcow2;

/// <summary>The qcow2 shorthands of <see cref="QemuPeers"/>.</summary>
internal static class Qcow2Peers
{
    public static Task QemuIoAsync(string path, params string[] commands) => QemuPeers.QemuIoAsync("qcow2", path, commands);

    public static Task<List<(long Start, long Length, DiskExtentKind Kind)>> QemuKindsAsync(string path) => QemuPeers.QemuKindsAsync(path, "qcow2");

    public static Task<List<(long Start, long Length, DiskExtentKind Kind)>> OurKindsAsync(IVirtualDisk disk) => QemuPeers.OurKindsAsync(disk);

    public static Task<(string Hash, byte[] Content)> QemuContentAsync(TempDirectory dir, string path) => QemuPeers.QemuContentAsync(dir, path);

    public static Task AssertReadsLikeQemuAsync(TempDirectory dir, string path, IVirtualDisk disk, bool kindsToo = true) =>
        QemuPeers.AssertReadsLikeQemuAsync(dir, path, "qcow2", disk, kindsToo);

    public static byte[] MixedContent(int length, int seed) => QemuPeers.MixedContent(length, seed);

    public static string Hash(byte[] data) => QemuPeers.Hash(data);
}
