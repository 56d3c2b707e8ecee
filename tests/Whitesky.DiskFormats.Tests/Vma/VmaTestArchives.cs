using System.Globalization;
using Whitesky.Nbd.Tests.Peers;

namespace Whitesky.DiskFormats.Tests.Vma;

/// <summary>Devices made with qemu-img/qemu-io, their content as qemu-img convert -O raw gives it, and VMA archives of them.</summary>
internal static class VmaTestArchives
{
    /// <summary>Not a multiple of 64 KiB nor of 4 KiB: the last cluster and the last block are partial.</summary>
    public const long FirstSize = (5L << 20) + (12 << 10) + 512;

    /// <summary>Not a multiple of 64 KiB.</summary>
    public const long SecondSize = (3L << 20) + (36 << 10);

    public const string ConfigText = "boot: order=scsi0\ncores: 2\nmemory: 2048\nscsi0: local-lvm:vm-100-disk-0,size=5M\n";

    /// <summary>Two qcow2 devices written by qemu-io, read back by qemu-img convert -O raw: the expected contents.</summary>
    public static async Task<(byte[] First, byte[] Second)> MakeDevicesAsync(TempDirectory dir)
    {
        var first = await MakeDeviceAsync(dir, "scsi0.qcow2", FirstSize, null,
            "write -P 0x11 0 200k",
            "write -P 0x22 1M 4k",
            "write -P 0x33 1052k 8k",
            "write -P 0x44 3M 64k",
            "write -P 0x45 3200k 4k",
            "write -P 0x46 3212k 4k",
            "write -z 3M 4k",
            $"write -P 0x55 {FirstSize - 4608} 4608");

        // The second device starts from random bytes (incompressible, no zero blocks) and gets holes and patterns.
        var second = await MakeDeviceAsync(dir, "virtio1.qcow2", SecondSize, TestData.Random(1 << 20, 9),
            "write -z 256k 128k",
            "write -z 516k 4k",
            "write -P 0x66 2M 12k",
            $"write -P 0x77 {SecondSize - 65536} 4k");
        return (first, second);
    }

    /// <summary>A writer with both devices and two config files.</summary>
    public static VmaTestWriter Writer(byte[] first, byte[] second)
    {
        var writer = new VmaTestWriter();
        writer.AddConfig("qemu-server.conf", System.Text.Encoding.UTF8.GetBytes(ConfigText));
        writer.AddConfig("qemu-server.fw", "[OPTIONS]\nenable: 1\n"u8.ToArray());
        writer.AddDevice("drive-scsi0", first);
        writer.AddDevice("drive-virtio1", second);
        return writer;
    }

    private static async Task<byte[]> MakeDeviceAsync(TempDirectory dir, string name, long size, byte[]? start, params string[] commands)
    {
        var path = dir.File(name);
        if (start is null)
        {
            await ExternalTool.RunAsync("qemu-img", ["create", "-q", "-f", "qcow2", path, size.ToString(CultureInfo.InvariantCulture)]);
        }
        else
        {
            var raw = dir.File(name + ".start.raw");
            await File.WriteAllBytesAsync(raw, start);
            await ExternalTool.RunAsync("qemu-img", ["convert", "-q", "-f", "raw", "-O", "qcow2", raw, path]);
            await ExternalTool.RunAsync("qemu-img", ["resize", "-q", "-f", "qcow2", path, size.ToString(CultureInfo.InvariantCulture)]);
        }

        var args = new List<string> { "-f", "qcow2" };
        foreach (var command in commands)
        {
            args.Add("-c");
            args.Add(command);
        }

        args.Add(path);
        await ExternalTool.RunAsync("qemu-io", args);
        var converted = dir.File(name + ".raw");
        await ExternalTool.RunAsync("qemu-img", ["convert", "-O", "raw", path, converted]);
        var content = await File.ReadAllBytesAsync(converted);
        Assert.Equal(size, content.LongLength);
        return content;
    }

    /// <summary>What a device's map must be: its 4 KiB blocks that hold non-zero bytes are data, the rest zero.</summary>
    public static List<(long Start, long Length, DiskExtentKind Kind)> ExpectedKinds(byte[] content)
    {
        var runs = new List<(long Start, long Length, DiskExtentKind Kind)>();
        for (long at = 0; at < content.LongLength; at += VmaTestWriter.BlockSize)
        {
            var length = (int)Math.Min(VmaTestWriter.BlockSize, content.LongLength - at);
            var kind = content.AsSpan((int)at, length).ContainsAnyExcept((byte)0) ? DiskExtentKind.Data : DiskExtentKind.Zero;
            Add(runs, at, length, kind);
        }

        return runs;
    }

    public static async Task<List<(long Start, long Length, DiskExtentKind Kind)>> KindsAsync(IVirtualDisk disk, long offset, long length)
    {
        var runs = new List<(long Start, long Length, DiskExtentKind Kind)>();
        await foreach (var e in disk.GetExtentsAsync(offset, length))
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
}

/// <summary>A stream that only reads forward, like a pipe or an HTTP body.</summary>
internal sealed class ForwardOnlyStream(Stream inner) : Stream
{
    public override bool CanRead => true;

    public override bool CanSeek => false;

    public override bool CanWrite => false;

    public override long Length => throw new NotSupportedException();

    public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }

    public override int Read(byte[] buffer, int offset, int count) => inner.Read(buffer, offset, Math.Min(count, 7000));

    public override ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default) =>
        inner.ReadAsync(buffer[..Math.Min(buffer.Length, 7000)], cancellationToken); // short reads, as a socket gives them

    public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
        ReadAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

    public override void Flush()
    {
    }

    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

    public override void SetLength(long value) => throw new NotSupportedException();

    public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();

    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            inner.Dispose();
        }

        base.Dispose(disposing);
    }
}
