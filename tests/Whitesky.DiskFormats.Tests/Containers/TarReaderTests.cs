using System.Text;
using Whitesky.DiskFormats.Containers;
using Whitesky.Nbd.Tests.Peers;

namespace Whitesky.DiskFormats.Tests.Containers;

/// <summary>Tar headers crafted field by field (what no tool writes small) and archives made by GNU tar.</summary>
public class TarReaderTests
{
    [Fact]
    public async Task A_gnu_sparse_entry_with_a_base256_real_size_beyond_8_gib_maps_its_runs()
    {
        // A 16 GiB + 4 KiB file with 4 KiB of data at 10 GiB and 512 bytes at its very end; the real size
        // needs base-256 (octal in 11 digits stops at 8 GiB).
        const long realSize = (16L << 30) + 4096;
        var first = TestData.Random(4096, 1);
        var last = TestData.Random(512, 2);
        var header = TarBuilder.Header("big.raw", first.Length + last.Length, (byte)'S', gnu: true);
        TarBuilder.Octal(header.AsSpan(386, 12), 10L << 30);
        TarBuilder.Octal(header.AsSpan(398, 12), first.Length);
        TarBuilder.Base256(header.AsSpan(410, 12), realSize - 512);
        TarBuilder.Octal(header.AsSpan(422, 12), last.Length);
        TarBuilder.Base256(header.AsSpan(483, 12), realSize);
        var tar = new TarBuilder().Add(header, [.. first, .. last]).Build();

        await using var archive = await SequentialArchive.OpenAsync(new PipeStream(new MemoryStream(tar)), "big.tar");
        var chunks = new List<(long Offset, string Sha)>();
        await foreach (var disk in archive.ReadDisksAsync())
        {
            Assert.Equal(realSize, disk.Capacity);
            await foreach (var chunk in disk.ReadChunksAsync())
            {
                chunks.Add((chunk.Offset, TestData.Sha256(chunk.Data.Span)));
            }
        }

        Assert.Equal([(10L << 30, TestData.Sha256(first)), (realSize - 512, TestData.Sha256(last))], chunks);

        // The same archive with random access: holes read as zeroes, runs as their bytes.
        await using var random = await TarArchive.OpenAsync(new MemorySource(tar, "big.tar"));
        var entry = Assert.Single(random.Entries);
        Assert.Equal((TarEntryKind.SparseFile, realSize, 4608L), (entry.Kind, entry.Length, entry.StoredLength));
        var source = random.OpenEntry(entry);
        var buffer = new byte[8192];
        Assert.Equal(8192, await source.ReadAsync((10L << 30) - 4096, buffer));
        Assert.False(buffer.AsSpan(0, 4096).ContainsAnyExcept((byte)0));
        Assert.Equal(first, buffer[4096..]);
        Assert.Equal(1024, await source.ReadAsync(realSize - 1024, buffer));
        Assert.False(buffer.AsSpan(0, 512).ContainsAnyExcept((byte)0));
        Assert.Equal(last, buffer[512..1024]);
    }

    [Fact]
    public async Task A_base256_size_field_and_pax_path_and_size_are_honoured()
    {
        var data = TestData.Random(3000, 3);
        var base256 = TarBuilder.Header("b256.bin", data.Length, gnu: true, base256Size: true);
        var pax = TarBuilder.Pax(("path", "dir/a-name-longer-than-the-header-allows-" + new string('x', 120) + ".raw"), ("size", "1000"));
        var tar = new TarBuilder()
            .Add(base256, data)
            .Add(TarBuilder.Header("PaxHeaders/x", pax.Length, (byte)'x'), pax)
            .Add(TarBuilder.Header("short-name", 999999), data.AsSpan(0, 1000))
            .File("after.txt", "after"u8)
            .Build();

        await using var reader = new TarReader(new PipeStream(new MemoryStream(tar)), "crafted.tar");
        var entries = new List<(string, long, string)>();
        while (await reader.GetNextEntryAsync() is { } entry)
        {
            var content = new MemoryStream();
            await reader.GetEntryStream().CopyToAsync(content);
            entries.Add((entry.Name, entry.Length, TestData.Sha256(content.ToArray())));
        }

        Assert.Equal(
        [
            ("b256.bin", 3000L, TestData.Sha256(data)),
            ("dir/a-name-longer-than-the-header-allows-" + new string('x', 120) + ".raw", 1000L, TestData.Sha256(data.AsSpan(0, 1000))),
            ("after.txt", 5L, TestData.Sha256("after"u8)),
        ], entries);
    }

    [Fact]
    public async Task A_global_pax_header_applies_to_the_entries_after_it_until_an_extended_one_overrides()
    {
        var global = TarBuilder.Pax(("path", "global.raw"), ("comment", "made by hand"));
        var local = TarBuilder.Pax(("path", "second.raw"));
        var tar = new TarBuilder()
            .Add(TarBuilder.Header("pax_global_header", global.Length, (byte)'g'), global)
            .File("ignored-name", "first"u8)
            .Add(TarBuilder.Header("PaxHeaders/second", local.Length, (byte)'x'), local)
            .File("also-ignored", "second"u8)
            .Build();

        await using var reader = new TarReader(new PipeStream(new MemoryStream(tar)), "global.tar");
        Assert.Equal("global.raw", (await reader.GetNextEntryAsync())!.Name);
        Assert.Equal("second.raw", (await reader.GetNextEntryAsync())!.Name);
        Assert.Null(await reader.GetNextEntryAsync());

        var many = TarBuilder.Pax([.. Enumerable.Range(0, 2000).Select(i => ($"key{i}", "v"))]);
        var flood = new TarBuilder().Add(TarBuilder.Header("g", many.Length, (byte)'g'), many).File("x", "x"u8).Build();
        var error = await Assert.ThrowsAsync<DiskFormatException>(() => ReadAllAsync(flood));
        Assert.Contains("global pax records grow beyond 1024 keys", error.Message);
    }

    [Fact]
    public async Task Gnu_long_names_and_links_written_by_tar_are_read()
    {
        using var dir = new TempDirectory();
        var deep = Path.Combine(dir.Path, "src", new string('d', 120), new string('e', 60));
        Directory.CreateDirectory(deep);
        var file = Path.Combine(deep, new string('f', 110) + ".raw");
        await File.WriteAllBytesAsync(file, TestData.Random(10000, 4));
        File.CreateSymbolicLink(Path.Combine(dir.Path, "src", "link"), Path.GetRelativePath(Path.Combine(dir.Path, "src"), file));
        var tar = dir.File("long.tar");
        await ExternalTool.RunAsync("tar", ["--format=gnu", "-cf", tar, "-C", dir.Path, "src"]);

        await using var reader = new TarReader(PipeStream.OpenFile(tar), "long.tar", leaveOpen: false);
        var seen = new Dictionary<string, TarEntry>();
        while (await reader.GetNextEntryAsync() is { } entry)
        {
            seen[entry.Name] = entry;
        }

        var relative = Path.GetRelativePath(dir.Path, file).Replace('\\', '/');
        Assert.Equal(10000, seen[relative].Length);
        Assert.Equal(TarEntryKind.File, seen[relative].Kind);
        Assert.Equal(TarEntryKind.SymbolicLink, seen["src/link"].Kind);
        Assert.Equal(Path.GetRelativePath(Path.Combine(dir.Path, "src"), file), seen["src/link"].LinkName);
        Assert.Equal(TarEntryKind.Directory, seen["src"].Kind);
    }

    [Fact]
    public async Task A_pax_archive_written_by_tar_gives_long_names_and_sizes()
    {
        using var dir = new TempDirectory();
        var name = new string('p', 150) + ".raw";
        await File.WriteAllBytesAsync(dir.File(name), TestData.Random(70000, 5));
        await File.WriteAllTextAsync(dir.File("small.txt"), "small");
        var tar = dir.File("pax.tar");
        await ExternalTool.RunAsync("tar", ["--format=pax", "-cf", tar, "-C", dir.Path, name, "small.txt"]);

        await using var reader = new TarReader(PipeStream.OpenFile(tar, seed: 9), "pax.tar", leaveOpen: false);
        var entries = new List<(string, long, string)>();
        while (await reader.GetNextEntryAsync() is { } entry)
        {
            var content = new MemoryStream();
            await reader.GetEntryStream().CopyToAsync(content);
            entries.Add((entry.Name, entry.Length, TestData.Sha256(content.ToArray())));
        }

        Assert.Equal([(name, 70000L, await TestData.Sha256FileAsync(dir.File(name))), ("small.txt", 5L, TestData.Sha256("small"u8))], entries);
    }

    [Theory]
    [InlineData("../x", "climbs out")]
    [InlineData("a/../../x", "climbs out")]
    [InlineData("/etc/passwd", "absolute path")]
    public async Task Entry_names_that_escape_are_refused(string name, string problem)
    {
        var tar = new TarBuilder().File(name, "x"u8).Build();
        var error = await Assert.ThrowsAsync<DiskFormatException>(() => ReadAllAsync(tar));
        Assert.Contains(problem, error.Message);
        Assert.Contains("hostile.tar", error.Message);
    }

    [Fact]
    public async Task A_pax_path_that_escapes_is_refused_too()
    {
        var pax = TarBuilder.Pax(("path", "../../evil"));
        var tar = new TarBuilder().Add(TarBuilder.Header("x", pax.Length, (byte)'x'), pax).File("innocent", "x"u8).Build();
        var error = await Assert.ThrowsAsync<DiskFormatException>(() => ReadAllAsync(tar));
        Assert.Contains("climbs out", error.Message);
    }

    [Fact]
    public async Task Duplicate_names_are_refused()
    {
        var tar = new TarBuilder().File("disk.raw", "a"u8).File("./disk.raw", "b"u8).Build();
        var error = await Assert.ThrowsAsync<DiskFormatException>(() => ReadAllAsync(tar));
        Assert.Contains("'disk.raw' appears twice", error.Message);
    }

    [Fact]
    public async Task A_bad_header_checksum_is_refused_with_its_offset()
    {
        var tar = new TarBuilder().File("ok", new byte[600]).File("damaged", "x"u8).Build();
        tar[1536 + 10] ^= 0x40;
        var error = await Assert.ThrowsAsync<DiskFormatException>(() => ReadAllAsync(tar));
        Assert.Contains("checksum does not match", error.Message);
        Assert.Equal(1536, error.Offset);
    }

    [Fact]
    public async Task A_stream_truncated_inside_an_entry_or_before_the_end_blocks_is_refused()
    {
        var tar = new TarBuilder().File("disk.raw", new byte[5000]).Build();
        var inside = await Assert.ThrowsAsync<DiskFormatException>(() => ReadAllAsync(tar[..3000]));
        Assert.Contains("'disk.raw'", inside.Message);
        var noEnd = await Assert.ThrowsAsync<DiskFormatException>(() => ReadAllAsync(tar[..^1024]));
        Assert.Contains("end blocks", noEnd.Message);
    }

    [Fact]
    public async Task A_sparse_map_that_does_not_add_up_or_overlaps_is_refused()
    {
        var header = TarBuilder.Header("s.raw", 1024, (byte)'S', gnu: true);
        TarBuilder.Octal(header.AsSpan(386, 12), 4096);
        TarBuilder.Octal(header.AsSpan(398, 12), 1024);
        TarBuilder.Octal(header.AsSpan(410, 12), 0);
        TarBuilder.Octal(header.AsSpan(422, 12), 512);
        TarBuilder.Octal(header.AsSpan(483, 12), 8192);
        var overlapping = new TarBuilder().Add(header, new byte[1024]).Build();
        Assert.Contains("overlaps", (await Assert.ThrowsAsync<DiskFormatException>(() => ReadAllAsync(overlapping))).Message);

        header = TarBuilder.Header("s.raw", 1024, (byte)'S', gnu: true);
        TarBuilder.Octal(header.AsSpan(386, 12), 0);
        TarBuilder.Octal(header.AsSpan(398, 12), 512);
        TarBuilder.Octal(header.AsSpan(483, 12), 8192);
        var short_ = new TarBuilder().Add(header, new byte[1024]).Build();
        Assert.Contains("hold 512 bytes but 1024 are stored", (await Assert.ThrowsAsync<DiskFormatException>(() => ReadAllAsync(short_))).Message);
    }

    [Fact]
    public async Task An_oversized_long_name_is_refused_before_it_is_read()
    {
        var tar = new TarBuilder().Add(TarBuilder.Header("././@LongLink", 1L << 40, (byte)'L', gnu: true, base256Size: true)).Build(end: false);
        var error = await Assert.ThrowsAsync<DiskFormatException>(() => ReadAllAsync(tar));
        Assert.Contains("more than the 65536 allowed", error.Message);
    }

    private static async Task ReadAllAsync(byte[] tar)
    {
        await using var reader = new TarReader(new PipeStream(new MemoryStream(tar)), "hostile.tar");
        while (await reader.GetNextEntryAsync() is not null)
        {
        }
    }
}
