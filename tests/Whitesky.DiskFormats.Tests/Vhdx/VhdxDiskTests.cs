using System.Buffers.Binary;
using System.Globalization;
using Whitesky.Nbd.Tests.Peers;
using static Whitesky.DiskFormats.Tests.Vhdx.VhdxTestImages;

namespace Whitesky.DiskFormats.Tests.Vhdx;

public class VhdxDiskTests
{
    /// <summary>SHA-256 and bytes of qemu-img's raw conversion.</summary>
    private static async Task<byte[]> QemuRawAsync(TempDirectory dir, string path)
    {
        var raw = dir.File(Path.GetFileName(path) + ".converted.raw");
        await ExternalTool.RunAsync("qemu-img", ["convert", "-f", "vhdx", "-O", "raw", path, raw]);
        var content = await File.ReadAllBytesAsync(raw);
        File.Delete(raw);
        return content;
    }

    /// <summary>Reads the whole disk at once and in uneven concurrent chunks; both must hash like <paramref name="expected"/>.</summary>
    private static async Task AssertContentAsync(IVirtualDisk disk, byte[] expected)
    {
        Assert.Equal(expected.LongLength, disk.Capacity);
        var hash = TestData.Sha256(expected);
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
            await disk.ReadAsync(at, chunked.AsMemory((int)at, (int)Math.Min(chunk, disk.Capacity - at)), ct));
        Assert.Equal(hash, TestData.Sha256(chunked));
    }

    /// <summary>The extents of random sub-ranges are the full map clipped to them.</summary>
    private static async Task AssertSubRangesClipAsync(IVirtualDisk disk, List<(long Start, long Length, DiskExtentKind Kind)> full)
    {
        var random = new Random(17);
        for (var i = 0; i < 20; i++)
        {
            var start = random.NextInt64(0, disk.Capacity);
            var length = random.NextInt64(0, disk.Capacity - start + 1);
            var expected = full
                .Where(r => r.Start < start + length && r.Start + r.Length > start)
                .Select(r => (Start: Math.Max(r.Start, start), End: Math.Min(r.Start + r.Length, start + length), r.Kind))
                .Select(r => (r.Start, r.End - r.Start, r.Kind))
                .ToList();
            Assert.Equal(expected, await OurKindsAsync(disk, start, length));
        }
    }

    [Theory]
    [InlineData("dynamic", 1 << 20, "on", (64L << 20) + 1536)]
    [InlineData("dynamic", 8 << 20, "off", 64L << 20)]
    [InlineData("dynamic", 0, "on", 100L << 20)]
    [InlineData("dynamic", 0, "off", 100L << 20)]
    [InlineData("fixed", 1 << 20, "off", 32L << 20)]
    [InlineData("fixed", 0, "on", 48L << 20)]
    public async Task Qemu_images_read_like_qemu_and_map_like_their_bat(string subformat, int blockSize, string blockStateZero, long size)
    {
        using var dir = new TempDirectory();
        var path = dir.File("disk.vhdx");
        var options = $"subformat={subformat},block_state_zero={blockStateZero},log_size=1M" + (blockSize > 0 ? $",block_size={blockSize}" : "");
        await CreateAsync(path, options, size);
        await QemuIoAsync(path,
            "write -P 0x11 0 3M",
            "write -P 0x22 5M 4k",
            "write -P 0x23 5184k 512",
            "write -P 0x33 8M 2M",
            "write -z 9M 64k",
            "write -P 0x66 " + ((size >> 20) - 1).ToString(CultureInfo.InvariantCulture) + "M 1M");

        var layout = ReadLayout(await File.ReadAllBytesAsync(path));
        await using var disk = await DiskImage.OpenAsync(path);
        var info = disk.Describe();
        Assert.Equal("vhdx", info.Format);
        Assert.Equal(subformat, info.Subformat);
        Assert.Equal(layout.BlockSize, info.ClusterSize);
        Assert.Equal(blockSize == 0 ? layout.BlockSize : blockSize, info.ClusterSize);
        Assert.Contains("logical_sector_size=512", info.Features);
        Assert.Equal(512, disk.LogicalSectorSize);
        Assert.Equal(size, disk.Capacity);
        Assert.Null(disk.Parent);

        await AssertContentAsync(disk, await QemuRawAsync(dir, path));
        var ours = await OurKindsAsync(disk);
        Assert.Equal(KindsFromBat(layout, await Raw.RawDiskTests.QemuMapAsync(path, "raw")), ours);
        Assert.Contains(ours, k => k.Kind == DiskExtentKind.Data);
        if (subformat == "dynamic")
        {
            Assert.Contains(ours, k => k.Kind != DiskExtentKind.Data);
        }

        await AssertSubRangesClipAsync(disk, ours);
    }

    [Fact]
    public async Task A_disk_past_one_chunk_skips_the_interleaved_sector_bitmap_entries()
    {
        // With 512-byte sectors one chunk covers 4 GiB, so the BAT of a larger disk interleaves a sector bitmap entry there.
        using var dir = new TempDirectory();
        var path = dir.File("big.vhdx");
        const long FourGiB = 4L << 30;
        await CreateAsync(path, "subformat=dynamic,block_size=33554432,block_state_zero=off", FourGiB + (96L << 20));
        await QemuIoAsync(path, "write -P 0x41 4064M 32M", "write -P 0x42 4096M 1M", "write -P 0x43 4160M 32M", "write -P 0x44 0 1M");

        var layout = ReadLayout(await File.ReadAllBytesAsync(path));
        Assert.Equal(128, layout.ChunkRatio);
        Assert.Equal(6UL, layout.Bat[129] & 7); // block 128, after the sector bitmap entry of chunk 0

        await using var disk = await DiskImage.OpenAsync(path);
        Assert.Equal(KindsFromBat(layout, await Raw.RawDiskTests.QemuMapAsync(path, "raw")), await OurKindsAsync(disk));

        var raw = dir.File("big.raw");
        await ExternalTool.RunAsync("qemu-img", ["convert", "-f", "vhdx", "-O", "raw", path, raw]);
        const long From = FourGiB - (64L << 20);
        var expected = new byte[disk.Capacity - From];
        await using (var file = File.OpenRead(raw))
        {
            file.Position = From;
            await file.ReadExactlyAsync(expected);
        }

        var actual = new byte[expected.Length];
        await disk.ReadAsync(From, actual);
        Assert.Equal(TestData.Sha256(expected), TestData.Sha256(actual));
        Assert.Equal(0x42, actual[(int)(FourGiB - From) + 100]);
    }

    [Fact]
    public async Task Four_kilobyte_logical_sectors_are_read_and_reported()
    {
        // qemu-img makes only 512-byte sectors; the logical sector size is a metadata item without a checksum.
        using var dir = new TempDirectory();
        var path = dir.File("4k.vhdx");
        await CreateAsync(path, "subformat=dynamic,block_size=1048576,block_state_zero=off", 16L << 20);
        await QemuIoAsync(path, "write -P 0x5a 1M 2M", "write -P 0x5b 9M 4k");
        // qemu cannot open 4 KiB-sector VHDX: take its reading before the patch; blocks hold the same bytes either way.
        var expected = await QemuRawAsync(dir, path);
        var bytes = await File.ReadAllBytesAsync(path);
        var layout = ReadLayout(bytes);
        BinaryPrimitives.WriteUInt32LittleEndian(bytes.AsSpan(MetadataItemOffset(bytes, layout, LogicalSectorSize)), 4096);
        await File.WriteAllBytesAsync(path, bytes);

        await using var disk = await DiskImage.OpenAsync(path);
        Assert.Equal(4096, disk.LogicalSectorSize);
        Assert.Contains("logical_sector_size=4096", disk.Describe().Features);
        await AssertContentAsync(disk, expected);
        Assert.Equal(KindsFromBat(ReadLayout(bytes), await Raw.RawDiskTests.QemuMapAsync(path, "raw")), await OurKindsAsync(disk));
    }

    [Fact]
    public async Task A_differencing_chain_reads_its_own_sectors_and_the_rest_from_its_parents()
    {
        using var dir = new TempDirectory();
        var basePath = dir.File("base.vhdx");
        await CreateAsync(basePath, "subformat=dynamic,block_size=1048576,block_state_zero=off", 16L << 20);
        await QemuIoAsync(basePath, "write -P 0x01 0 6M", "write -P 0x02 12M 1M");
        var baseBytes = await File.ReadAllBytesAsync(basePath);
        var baseLayout = ReadLayout(baseBytes);
        var expected = await QemuRawAsync(dir, basePath);

        // Per 512-byte sector: what the chain holds there.
        var kinds = new DiskExtentKind[(16 << 20) / 512];
        foreach (var (start, length, kind) in KindsFromBat(baseLayout))
        {
            Array.Fill(kinds, kind, (int)(start / 512), (int)(length / 512));
        }

        // Child: block 0 fully its own, block 2 partly (a few runs of sectors), block 4 zero, block 13 partly.
        var child = new Writer
        {
            Size = 16L << 20,
            Parent = [("parent_linkage", baseLayout.DataWriteGuid.ToString("B")), ("relative_path", @".\base.vhdx"), ("absolute_win32_path", @"C:\vms\base.vhdx")],
        };
        void Full(Writer writer, long block, byte fill)
        {
            var data = new byte[MiB];
            Array.Fill(data, fill);
            writer.Blocks[block] = new Block(6, data);
            data.CopyTo(expected, block * MiB);
            Array.Fill(kinds, DiskExtentKind.Data, (int)(block * MiB / 512), MiB / 512);
        }

        void Partial(Writer writer, long block, byte fill, params (int From, int Count)[] runs)
        {
            var data = TestData.Random(MiB, fill);
            var present = new bool[MiB / 512];
            foreach (var (from, count) in runs)
            {
                for (var s = from; s < from + count; s++)
                {
                    present[s] = true;
                    data.AsSpan(s * 512, 512).CopyTo(expected.AsSpan((int)((block * MiB) + (s * 512))));
                    kinds[(block * MiB / 512) + s] = DiskExtentKind.Data;
                }
            }

            writer.Blocks[block] = new Block(7, data, present);
        }

        Full(child, 0, 0xc0);
        Partial(child, 2, 0xc2, (0, 8), (100, 900), (2047, 1));
        child.Blocks[4] = new Block(2);
        Array.Clear(expected, 4 * MiB, MiB);
        Array.Fill(kinds, DiskExtentKind.Zero, 4 * MiB / 512, MiB / 512);
        Partial(child, 13, 0xcd, (5, 1));
        var childBytes = child.Build();
        await File.WriteAllBytesAsync(dir.File("child.vhdx"), childBytes);

        var top = new Writer { Size = 16L << 20, Parent = [("parent_linkage", child.DataWriteGuid.ToString("D")), ("relative_path", "child.vhdx")] };
        Partial(top, 2, 0xe2, (4, 200));
        Full(top, 12, 0xec);
        await File.WriteAllBytesAsync(dir.File("top.vhdx"), top.Build());

        await using var disk = await DiskImage.OpenAsync(dir.File("top.vhdx"));
        var info = disk.Describe();
        Assert.Equal("differencing", info.Subformat);
        Assert.Equal("differencing", info.Parent!.Subformat);
        Assert.Equal("dynamic", info.Parent.Parent!.Subformat);
        await AssertContentAsync(disk, expected);

        var expectedRuns = new List<(long Start, long Length, DiskExtentKind Kind)>();
        for (var s = 0; s < kinds.Length; s++)
        {
            Add(expectedRuns, s * 512L, 512, kinds[s]);
        }

        var ours = await OurKindsAsync(disk);
        Assert.Equal(expectedRuns, ours);
        await AssertSubRangesClipAsync(disk, ours);
    }

    [Fact]
    public async Task A_parent_whose_data_write_guid_differs_from_the_linkage_is_refused()
    {
        using var dir = new TempDirectory();
        await CreateAsync(dir.File("base.vhdx"), "subformat=dynamic", 16L << 20);
        var child = new Writer { Size = 16L << 20, Parent = [("parent_linkage", Guid.NewGuid().ToString("B")), ("relative_path", "base.vhdx")] };
        await File.WriteAllBytesAsync(dir.File("child.vhdx"), child.Build());

        var refusal = await Assert.ThrowsAsync<DiskFormatException>(() => DiskImage.OpenAsync(dir.File("child.vhdx")));
        Assert.Equal("parent locator", refusal.Structure);
        Assert.Contains("parent_linkage", refusal.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_parent_named_only_by_an_absolute_path_is_refused_by_the_default_resolver()
    {
        using var dir = new TempDirectory();
        var basePath = dir.File("base.vhdx");
        await CreateAsync(basePath, "subformat=dynamic", 16L << 20);
        var linkage = ReadLayout(await File.ReadAllBytesAsync(basePath)).DataWriteGuid;
        var child = new Writer { Size = 16L << 20, Parent = [("parent_linkage", linkage.ToString("B")), ("absolute_win32_path", basePath)] };
        await File.WriteAllBytesAsync(dir.File("child.vhdx"), child.Build());

        var refusal = await Assert.ThrowsAsync<DiskFormatException>(() => DiskImage.OpenAsync(dir.File("child.vhdx")));
        Assert.Equal("parent locator", refusal.Structure);
        Assert.Contains("absolute", refusal.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task When_the_relative_path_fails_the_absolute_path_is_tried_through_the_resolver()
    {
        using var dir = new TempDirectory();
        var basePath = dir.File("base.vhdx");
        await CreateAsync(basePath, "subformat=dynamic,block_size=1048576", 8L << 20);
        await QemuIoAsync(basePath, "write -P 0x3c 1M 1M");
        var linkage = ReadLayout(await File.ReadAllBytesAsync(basePath)).DataWriteGuid;
        var child = new Writer { Size = 8L << 20, Parent = [("parent_linkage", linkage.ToString("B")), ("relative_path", "moved.vhdx"), ("absolute_win32_path", basePath)] };
        await File.WriteAllBytesAsync(dir.File("child.vhdx"), child.Build());

        var refusal = await Assert.ThrowsAsync<DiskFormatException>(() => DiskImage.OpenAsync(dir.File("child.vhdx")));
        Assert.Contains("relative_path 'moved.vhdx'", refusal.Message, StringComparison.Ordinal);
        Assert.Contains("absolute_win32_path", refusal.Message, StringComparison.Ordinal);

        await using var disk = await DiskImage.OpenAsync(dir.File("child.vhdx"), new DiskImageOptions { Resolver = new InsideDirectoryResolver(dir.Path) });
        Assert.Equal(basePath, disk.Describe().Parent!.Name);
        await AssertContentAsync(disk, await QemuRawAsync(dir, basePath));
    }

    /// <summary>Accepts any name, relative or absolute, that lands directly in <paramref name="directory"/>.</summary>
    private sealed class InsideDirectoryResolver(string directory) : IDiskImageResolver
    {
        public ValueTask<IRandomAccessSource> OpenAsync(string referrer, string reference, CancellationToken cancellationToken = default)
        {
            var full = Path.GetFullPath(Path.Combine(directory, reference));
            if (Path.GetDirectoryName(full) != Path.GetFullPath(directory) || !File.Exists(full))
            {
                throw new DiskFormatException($"{referrer}: '{reference}' is not a file in {directory}");
            }

            return ValueTask.FromResult<IRandomAccessSource>(FileSource.Open(full));
        }
    }

    /// <summary>A log entry of data descriptors, one per (file offset, 4 KiB page), with its checksum.</summary>
    internal static byte[] LogEntry(Guid logGuid, ulong sequence, uint tail, long fileLength, (long FileOffset, byte[] Page)[] pages, (long FileOffset, long Length)[]? zeroes = null)
    {
        zeroes ??= [];
        var entry = new byte[4096 * (1 + pages.Length)];
        var h = entry.AsSpan();
        "loge"u8.CopyTo(h);
        BinaryPrimitives.WriteUInt32LittleEndian(h[8..], (uint)entry.Length);
        BinaryPrimitives.WriteUInt32LittleEndian(h[12..], tail);
        BinaryPrimitives.WriteUInt64LittleEndian(h[16..], sequence);
        BinaryPrimitives.WriteUInt32LittleEndian(h[24..], (uint)(pages.Length + zeroes.Length));
        logGuid.TryWriteBytes(h[32..]);
        BinaryPrimitives.WriteUInt64LittleEndian(h[48..], (ulong)fileLength);
        BinaryPrimitives.WriteUInt64LittleEndian(h[56..], (ulong)fileLength);
        for (var i = 0; i < pages.Length; i++)
        {
            var (fileOffset, page) = pages[i];
            var d = h.Slice(64 + (32 * i), 32);
            "desc"u8.CopyTo(d);
            page.AsSpan(4092, 4).CopyTo(d[4..]);
            page.AsSpan(0, 8).CopyTo(d[8..]);
            BinaryPrimitives.WriteUInt64LittleEndian(d[16..], (ulong)fileOffset);
            BinaryPrimitives.WriteUInt64LittleEndian(d[24..], sequence);
            var s = h.Slice(4096 * (i + 1), 4096);
            "data"u8.CopyTo(s);
            BinaryPrimitives.WriteUInt32LittleEndian(s[4..], (uint)(sequence >> 32));
            page.AsSpan(8, 4084).CopyTo(s[8..]);
            BinaryPrimitives.WriteUInt32LittleEndian(s[4092..], (uint)sequence);
        }

        for (var i = 0; i < zeroes.Length; i++)
        {
            var d = h.Slice(64 + (32 * (pages.Length + i)), 32);
            "zero"u8.CopyTo(d);
            BinaryPrimitives.WriteUInt64LittleEndian(d[8..], (ulong)zeroes[i].Length);
            BinaryPrimitives.WriteUInt64LittleEndian(d[16..], (ulong)zeroes[i].FileOffset);
            BinaryPrimitives.WriteUInt64LittleEndian(d[24..], sequence);
        }

        Seal(entry, 0, entry.Length);
        return entry;
    }

    /// <summary>Points the current header at a log with <paramref name="logGuid"/> and makes it the newest.</summary>
    internal static void ActivateLog(byte[] file, Layout layout, Guid logGuid)
    {
        var other = layout.CurrentHeader == 64 << 10 ? 128 << 10 : 64 << 10;
        var sequence = Math.Max(BinaryPrimitives.ReadUInt64LittleEndian(file.AsSpan(layout.CurrentHeader + 8)), BinaryPrimitives.ReadUInt64LittleEndian(file.AsSpan(other + 8)));
        BinaryPrimitives.WriteUInt64LittleEndian(file.AsSpan(layout.CurrentHeader + 8), sequence + 1);
        logGuid.TryWriteBytes(file.AsSpan(layout.CurrentHeader + 48));
        Seal(file, layout.CurrentHeader, 4096);
    }

    /// <summary>A qemu image with data in blocks 0 and 3 (1 MiB blocks) and an active log of two entries that rewrites the BAT page.</summary>
    internal static async Task<(string Path, byte[] Expected)> ImageWithActiveLogAsync(TempDirectory dir)
    {
        var path = dir.File("logged.vhdx");
        await CreateAsync(path, "subformat=dynamic,block_size=1048576,block_state_zero=off,log_size=1M", 16L << 20);
        await QemuIoAsync(path, "write -P 0x11 0 1M", "write -P 0x33 3M 1M", "write -P 0x77 7M 64k");
        var file = await File.ReadAllBytesAsync(path);
        var layout = ReadLayout(file);
        var page = file.AsSpan((int)layout.BatOffset, 4096).ToArray();

        // First entry: block 1 maps block 3's payload. Second: also block 0 becomes a zero block. A stale third entry
        // (older sequence, elsewhere in the log) would make block 7 zero if it were wrongly replayed.
        var first = (byte[])page.Clone();
        BinaryPrimitives.WriteUInt64LittleEndian(first.AsSpan(8), layout.Entry(3));
        var second = (byte[])first.Clone();
        BinaryPrimitives.WriteUInt64LittleEndian(second.AsSpan(0), 2);
        var stale = (byte[])page.Clone();
        BinaryPrimitives.WriteUInt64LittleEndian(stale.AsSpan(56), 2);
        var logGuid = Guid.NewGuid();
        var log = (int)layout.LogOffset;
        // The second entry also zeroes 64 KiB of block 3's payload (which block 1 now shares) with a zero descriptor.
        var block3 = (long)(layout.Entry(3) >> 20) << 20;
        LogEntry(logGuid, 40, 0, file.Length, [(layout.BatOffset, first)]).CopyTo(file, log);
        LogEntry(logGuid, 41, 0, file.Length, [(layout.BatOffset, second)], [(block3 + (128 << 10), 64 << 10)]).CopyTo(file, log + 8192);
        LogEntry(logGuid, 7, 65536, file.Length, [(layout.BatOffset, stale)]).CopyTo(file, log + 65536);
        ActivateLog(file, layout, logGuid);
        await File.WriteAllBytesAsync(path, file);

        var expected = new byte[16 << 20];
        Array.Fill(expected, (byte)0x33, 1 << 20, 1 << 20);
        Array.Fill(expected, (byte)0x33, 3 << 20, 1 << 20);
        Array.Fill(expected, (byte)0x77, 7 << 20, 64 << 10);
        Array.Clear(expected, (1 << 20) + (128 << 10), 64 << 10);
        Array.Clear(expected, (3 << 20) + (128 << 10), 64 << 10);
        return (path, expected);
    }

    [Fact]
    public async Task An_active_log_is_replayed_in_memory_like_qemu_replays_it_and_the_file_is_not_written()
    {
        using var dir = new TempDirectory();
        var (path, expected) = await ImageWithActiveLogAsync(dir);
        var before = await TestData.Sha256FileAsync(path);
        var modified = File.GetLastWriteTimeUtc(path);

        await using (var disk = await DiskImage.OpenAsync(path))
        {
            Assert.Contains("log_replayed", disk.Describe().Features);
            await AssertContentAsync(disk, expected);
            Assert.Equal(
                [(0, 1 << 20, DiskExtentKind.Zero), (1 << 20, 1 << 20, DiskExtentKind.Data), (2 << 20, 1 << 20, DiskExtentKind.Unallocated),
                 (3 << 20, 1 << 20, DiskExtentKind.Data), (4 << 20, 3 << 20, DiskExtentKind.Unallocated), (7 << 20, 1 << 20, DiskExtentKind.Data),
                 (8 << 20, 8 << 20, DiskExtentKind.Unallocated)],
                await OurKindsAsync(disk));
        }

        Assert.Equal(before, await TestData.Sha256FileAsync(path));
        Assert.Equal(modified, File.GetLastWriteTimeUtc(path));

        // qemu refuses to read an image with an active log; `check -r all` replays it (on a copy) and then it reads the same.
        var copy = dir.File("replayed.vhdx");
        File.Copy(path, copy);
        await ExternalTool.RunAsync("qemu-img", ["check", "-q", "-r", "all", "-f", "vhdx", copy]);
        Assert.Equal(TestData.Sha256(expected), TestData.Sha256(await QemuRawAsync(dir, copy)));
    }

    [Fact]
    public async Task Vhdx_is_probed_from_its_identifier()
    {
        using var dir = new TempDirectory();
        var path = dir.File("disk.img");
        await CreateAsync(path, "subformat=dynamic", 8L << 20);
        await using var source = FileSource.Open(path);
        Assert.Equal("vhdx", await DiskImage.ProbeAsync(source));
        Assert.Contains("vhdx", DiskImage.SupportedFormats);
    }
}
