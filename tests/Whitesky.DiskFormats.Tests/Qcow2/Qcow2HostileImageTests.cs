using System.Buffers.Binary;
using System.IO.Compression;
using Whitesky.Nbd.Tests.Peers;
using static Whitesky.DiskFormats.Tests.Qcow2.Qcow2Peers;
using static Whitesky.DiskFormats.Tests.Core.HostileImages;

namespace Whitesky.DiskFormats.Tests.Qcow2;

/// <summary>Valid images from qemu-img, patched into hostile ones: each is refused with the structure and offset named, quickly.</summary>
public class Qcow2HostileImageTests
{
    private static async Task<string> ValidImageAsync(TempDirectory dir, string name = "disk.qcow2", string options = "cluster_size=65536")
    {
        var path = dir.File(name);
        await ExternalTool.RunAsync("qemu-img", ["create", "-q", "-f", "qcow2", "-o", options, path, "16M"]);
        await QemuIoAsync(path, "write -P 0x42 0 8M");
        return path;
    }

    private static byte[] U64(ulong value)
    {
        var bytes = new byte[8];
        BinaryPrimitives.WriteUInt64BigEndian(bytes, value);
        return bytes;
    }

    private static byte[] U32(uint value)
    {
        var bytes = new byte[4];
        BinaryPrimitives.WriteUInt32BigEndian(bytes, value);
        return bytes;
    }

    private static async Task<(long L1Offset, long L2Offset)> TablesAsync(string path)
    {
        var head = new byte[104];
        await using (var file = File.OpenRead(path))
        {
            await file.ReadExactlyAsync(head);
        }

        var l1 = (long)BinaryPrimitives.ReadUInt64BigEndian(head.AsSpan(40));
        var entry = new byte[8];
        await using (var file = File.OpenRead(path))
        {
            file.Position = l1;
            await file.ReadExactlyAsync(entry);
        }

        return (l1, (long)(BinaryPrimitives.ReadUInt64BigEndian(entry) & 0x00ff_ffff_ffff_fe00UL));
    }

    [Fact]
    public async Task A_truncated_image_is_refused_where_the_file_ends()
    {
        using var dir = new TempDirectory();
        var path = await ValidImageAsync(dir);
        var length = new FileInfo(path).Length;
        await using (var file = new FileStream(path, FileMode.Open, FileAccess.Write))
        {
            file.SetLength(length / 2);
        }

        var refusal = await RefusalAsync(path);
        Assert.Contains(refusal.Structure, new[] { "data cluster", "L2 table", "L2 entry" });
        Assert.True(refusal.Offset >= 0 && refusal.Offset <= length);
    }

    [Fact]
    public async Task An_l1_table_claiming_terabytes_is_refused_before_allocating_it()
    {
        using var dir = new TempDirectory();
        var path = await ValidImageAsync(dir);
        await PatchAsync(path, 36, U32(0x7fff_ffff));

        var refusal = await RefusalAsync(path);
        Assert.Equal("L1 table", refusal.Structure);
        Assert.Equal((await TablesAsync(path)).L1Offset, refusal.Offset);
    }

    [Fact]
    public async Task An_l1_table_past_the_end_of_the_file_is_refused()
    {
        using var dir = new TempDirectory();
        var path = await ValidImageAsync(dir);
        await PatchAsync(path, 40, U64(1UL << 40));

        var refusal = await RefusalAsync(path);
        Assert.Equal("L1 table", refusal.Structure);
        Assert.Equal(1L << 40, refusal.Offset);
    }

    [Fact]
    public async Task An_l2_table_past_the_end_of_the_file_is_refused()
    {
        using var dir = new TempDirectory();
        var path = await ValidImageAsync(dir);
        var (l1, _) = await TablesAsync(path);
        var past = (new FileInfo(path).Length + (1L << 20)) & ~0xffffL;
        await PatchAsync(path, l1, U64((1UL << 63) | (ulong)past));

        var refusal = await RefusalAsync(path);
        Assert.Equal("L2 table", refusal.Structure);
        Assert.Equal(past, refusal.Offset);
        Assert.Contains("past the end", refusal.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task An_l2_table_inside_the_l1_table_is_refused()
    {
        using var dir = new TempDirectory();
        var path = await ValidImageAsync(dir);
        var (l1, _) = await TablesAsync(path);
        await PatchAsync(path, l1, U64((1UL << 63) | (ulong)l1));

        var refusal = await RefusalAsync(path);
        Assert.Equal("L2 table", refusal.Structure);
        Assert.Equal(l1, refusal.Offset);
        Assert.Contains("overlaps", refusal.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_data_cluster_on_the_l1_table_is_refused()
    {
        using var dir = new TempDirectory();
        var path = await ValidImageAsync(dir, options: "cluster_size=512");
        var (l1, l2) = await TablesAsync(path);
        await PatchAsync(path, l2 + 24, U64((1UL << 63) | (ulong)l1));

        var refusal = await RefusalAsync(path);
        Assert.Equal("L2 entry", refusal.Structure);
        Assert.Equal(l2 + 24, refusal.Offset);
    }

    [Fact]
    public async Task A_compressed_cluster_that_inflates_beyond_a_cluster_is_refused()
    {
        using var dir = new TempDirectory();
        var raw = dir.File("source.raw");
        await File.WriteAllBytesAsync(raw, MixedContent(1 << 20, 5));
        var path = dir.File("disk.qcow2");
        await ExternalTool.RunAsync("qemu-img", ["convert", "-q", "-c", "-f", "raw", "-O", "qcow2", "-o", "cluster_size=65536", raw, path]);

        // 16 MiB of zeroes deflate to a few KiB: a bomb in one cluster's place.
        using var bomb = new MemoryStream();
        await using (var deflate = new DeflateStream(bomb, CompressionLevel.Optimal, leaveOpen: true))
        {
            await deflate.WriteAsync(new byte[16 << 20]);
        }

        var host = (new FileInfo(path).Length + 511) & ~511L;
        await PatchAsync(path, host, bomb.ToArray());
        var extraSectors = (ulong)((bomb.Length + 511) / 512) - 1;
        var (_, l2) = await TablesAsync(path);
        await PatchAsync(path, l2, U64((1UL << 62) | (extraSectors << 54) | (ulong)host));

        var refusal = await RefusalAsync(path);
        Assert.Equal("compressed cluster", refusal.Structure);
        Assert.Equal(host, refusal.Offset);
        Assert.Contains("more than one cluster", refusal.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task An_unknown_incompatible_feature_bit_is_refused_by_number()
    {
        using var dir = new TempDirectory();
        var path = await ValidImageAsync(dir);
        await PatchAsync(path, 72, U64(1UL << 37));

        var refusal = await RefusalAsync(path);
        Assert.Equal("header", refusal.Structure);
        Assert.Equal(72, refusal.Offset);
        Assert.Contains("bit 37", refusal.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task An_image_marked_corrupt_is_refused()
    {
        using var dir = new TempDirectory();
        var path = await ValidImageAsync(dir);
        await PatchAsync(path, 72, U64(2));

        var refusal = await RefusalAsync(path);
        Assert.Equal("header", refusal.Structure);
        Assert.Contains("corrupt", refusal.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_dirty_image_is_read_and_says_it_is_dirty()
    {
        using var dir = new TempDirectory();
        var path = await ValidImageAsync(dir);
        await PatchAsync(path, 72, U64(1));

        await using var disk = await DiskImage.OpenAsync(path).WaitAsync(Bound);
        Assert.Contains("dirty", disk.Describe().Features);
        var buffer = new byte[8 << 20];
        await disk.ReadAsync(0, buffer);
        Assert.All(buffer, b => Assert.Equal(0x42, b));
    }

    [Fact]
    public async Task An_encrypted_image_is_refused()
    {
        using var dir = new TempDirectory();
        var path = dir.File("secret.qcow2");
        // LUKS times its key derivation; on a busy machine a short measurement can fail, so it gets a few tries.
        var created = (ExitCode: -1, StdOut: "", StdErr: "");
        for (var attempt = 0; attempt < 5 && created.ExitCode != 0; attempt++)
        {
            created = await ExternalTool.TryRunAsync("qemu-img", ["create", "-q", "--object", "secret,id=sec0,data=hunter2", "-f", "qcow2",
                "-o", "encrypt.format=luks,encrypt.key-secret=sec0,encrypt.iter-time=250", path, "16M"]);
        }

        Assert.True(created.ExitCode == 0, created.StdErr);

        var refusal = await RefusalAsync(path);
        Assert.Equal("header", refusal.Structure);
        Assert.Equal(32, refusal.Offset);
        Assert.Contains("encrypted (LUKS)", refusal.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("/etc/passwd", "raw", "absolute")]
    [InlineData("../x", "qcow2", "leaves")]
    [InlineData("json:{\"file.filename\":\"/etc/passwd\"}", "raw", "json")]
    public async Task A_backing_file_outside_the_image_directory_is_refused_by_the_resolver(string backing, string format, string why)
    {
        using var dir = new TempDirectory();
        var path = await ValidImageAsync(dir);
        await ExternalTool.RunAsync("qemu-img", ["rebase", "-u", "-f", "qcow2", "-b", backing, "-F", format, path]);

        var refusal = await RefusalAsync(path);
        Assert.Equal("backing file name", refusal.Structure);
        Assert.Contains(why, refusal.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_backing_loop_is_refused()
    {
        using var dir = new TempDirectory();
        var b = await ValidImageAsync(dir, "b.qcow2");
        var a = dir.File("a.qcow2");
        await ExternalTool.RunAsync("qemu-img", ["create", "-q", "-f", "qcow2", "-b", "b.qcow2", "-F", "qcow2", a, "16M"]);
        await ExternalTool.RunAsync("qemu-img", ["rebase", "-u", "-f", "qcow2", "-b", "a.qcow2", "-F", "qcow2", b]);

        var refusal = await RefusalAsync(a);
        Assert.Equal("backing file name", refusal.Structure);
        Assert.Contains("loop", refusal.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_chain_deeper_than_the_limit_is_refused()
    {
        using var dir = new TempDirectory();
        var previous = await ValidImageAsync(dir, "0.qcow2");
        for (var i = 1; i <= 4; i++)
        {
            var next = dir.File($"{i}.qcow2");
            await ExternalTool.RunAsync("qemu-img", ["create", "-q", "-f", "qcow2", "-b", Path.GetFileName(previous), "-F", "qcow2", next, "16M"]);
            previous = next;
        }

        var refusal = await RefusalAsync(previous, new DiskImageOptions { MaxChainDepth = 3 });
        Assert.Contains("deeper than 3", refusal.Message, StringComparison.Ordinal);
    }
}
