using Whitesky.Nbd.Tests.Peers;

namespace Whitesky.DiskFormats.Tests.Core;

/// <summary>
/// <see cref="FileSource"/> reads what the page cache holds on the caller's thread (preadv2 RWF_NOWAIT) and the rest
/// on the thread pool: both halves must give the file's bytes, whichever part of it is cached.
/// </summary>
public sealed class FileSourceTests
{
    private const int Size = 8 << 20;

    [Fact]
    public async Task A_file_written_past_the_page_cache_is_not_read_inline_and_still_reads_whole()
    {
        // Beside the test binaries, on the disk the repository is on: /tmp may be a tmpfs, whose files are the page cache.
        var folder = Directory.CreateDirectory(Path.Combine(AppContext.BaseDirectory, "direct-io-" + Guid.NewGuid().ToString("N"))).FullName;
        try
        {
            var path = Path.Combine(folder, "direct.raw");
            var content = TestData.Random(Size, seed: 41);
            await File.WriteAllBytesAsync(Path.Combine(folder, "content.raw"), content);
            // O_DIRECT writes leave nothing of the file in the page cache.
            await ExternalTool.RunAsync("dd", ["if=" + Path.Combine(folder, "content.raw"), "of=" + path, "bs=1M", "oflag=direct", "status=none"]);

            await using var source = FileSource.Open(path);
            var probe = new byte[1 << 20];
            Assert.Equal(0, CachedFileReads.Read(source.Handle, 3 << 20, probe, out var endOfFile));
            Assert.False(endOfFile);

            var read = new byte[Size];
            Assert.Equal(Size, await source.ReadAsync(0, read));
            Assert.Equal(TestData.Sha256(content), TestData.Sha256(read));
        }
        finally
        {
            Directory.Delete(folder, recursive: true);
        }
    }

    [Fact]
    public async Task A_cached_file_reads_inline_to_its_end_and_a_read_past_the_end_is_short()
    {
        using var dir = new TempDirectory();
        var path = dir.File("cached.raw");
        var content = TestData.Random(Size + 4096 + 17, seed: 42);
        await File.WriteAllBytesAsync(path, content);

        await using var source = FileSource.Open(path);
        var inline = new byte[1 << 20];
        Assert.Equal(inline.Length, CachedFileReads.Read(source.Handle, 5 << 20, inline, out var endOfFile));
        Assert.False(endOfFile);
        Assert.True(content.AsSpan(5 << 20, inline.Length).SequenceEqual(inline));

        var tail = new byte[1 << 20];
        var got = await source.ReadAsync(Size, tail);
        Assert.Equal(4096 + 17, got);
        Assert.True(content.AsSpan(Size).SequenceEqual(tail.AsSpan(0, got)));
        Assert.Equal(0, await source.ReadAsync(content.Length, tail));
    }
}
