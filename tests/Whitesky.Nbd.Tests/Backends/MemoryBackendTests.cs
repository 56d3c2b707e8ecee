using Whitesky.Nbd.Server;
using Whitesky.Nbd.Tests.Peers;

namespace Whitesky.Nbd.Tests.Backends;

public class MemoryBackendTests
{
    private const int Page = MemoryBackend.PageSize;
    private const uint Hole = NbdExtent.HoleFlag | NbdExtent.ZeroFlag;

    [Theory]
    [InlineData(1, 3 * Page)]
    [InlineData(2, 300_000)]
    [InlineData(3, 4096)]
    public async Task Random_writes_zeroes_and_trims_read_back_like_a_model_array(int seed, int maxLength)
    {
        await using var backend = new MemoryBackend(16L * 1024 * 1024 + 12345);
        var model = new BackendModel(backend);

        await model.RunRandomAsync(seed, operations: 600, maxLength);

        await model.AssertMatchesAsync();
    }

    [Fact]
    public async Task Concurrent_writes_from_many_tasks_at_different_offsets_all_land()
    {
        // Slices of 3000 bytes dealt round-robin to 16 tasks: neighbouring slices share pages, so tasks race to
        // create the same page and write different bytes of it.
        const int size = 48 * 1024 * 1024;
        const int slice = 3000;
        const int tasks = 16;
        await using var backend = new MemoryBackend(size);
        var expected = TestData.Random(size, 7);

        await Task.WhenAll(Enumerable.Range(0, tasks).Select(t => Task.Run(async () =>
        {
            for (var offset = t * slice; offset < size; offset += tasks * slice)
            {
                var length = Math.Min(slice, size - offset);
                await backend.WriteAsync(offset, expected.AsMemory(offset, length), fua: false, CancellationToken.None);
            }
        })));

        var actual = await BackendModel.ReadAllAsync(backend);

        BackendModel.AssertSame(expected, actual, 0, "after concurrent writes");
        Assert.Equal(size / Page * (long)Page, backend.AllocatedBytes);
    }

    [Fact]
    public async Task Concurrent_two_mebibyte_writes_zeroes_and_reads_at_different_offsets_keep_their_own_bytes()
    {
        const int request = 2 * 1024 * 1024;
        const int requests = 64;
        await using var backend = new MemoryBackend((long)request * requests);
        var expected = TestData.Random(request * requests, 8);

        await Parallel.ForAsync(0, requests, new ParallelOptions { MaxDegreeOfParallelism = 8 }, async (i, _) =>
        {
            var offset = (long)i * request;
            var mine = expected.AsMemory((int)offset, request);
            await backend.WriteAsync(offset, mine, fua: false, CancellationToken.None);
            if (i % 4 == 0)
            {
                // Zero an unaligned inner piece, then write it back: whole pages are freed and re-created.
                await backend.WriteZeroesAsync(offset + 1000, request - 5000, mayPunchHole: true, fastOnly: true, fua: false, CancellationToken.None);
                await backend.WriteAsync(offset + 1000, mine.Slice(1000, request - 5000), fua: false, CancellationToken.None);
            }

            var back = new byte[request];
            await backend.ReadAsync(offset, back, CancellationToken.None);
            BackendModel.AssertSame(mine.Span, back, offset, "read back by the writer");
        });

        var actual = await BackendModel.ReadAllAsync(backend);

        BackendModel.AssertSame(expected, actual, 0, "after all requests");
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task Zeroing_an_unaligned_range_zeroes_exactly_the_asked_bytes(bool mayPunchHole)
    {
        await using var backend = new MemoryBackend(8 * Page);
        var model = new BackendModel(backend);
        await model.WriteAsync(0, TestData.Random(8 * Page, 11));

        await model.ZeroAsync(Page - 100, 3 * Page + 177, mayPunchHole);

        await model.AssertMatchesAsync();
        var map = await BackendModel.MapAsync(backend, 0, backend.Size, MemoryBackend.MaxExtentsPerCall);
        if (mayPunchHole)
        {
            // Pages 1..3 lie wholly inside the range and are freed; pages 0 and 4 are only partly zeroed.
            Assert.Equal([new NbdExtent(0, Page, 0), new NbdExtent(Page, 3 * Page, Hole), new NbdExtent(4 * Page, 4 * Page, 0)], map);
            Assert.Equal(5L * Page, backend.AllocatedBytes);
        }
        else
        {
            Assert.Equal([new NbdExtent(0, 8 * Page, 0)], map);
            Assert.Equal(8L * Page, backend.AllocatedBytes);
        }
    }

    [Fact]
    public async Task Trim_frees_whole_pages_and_zeroes_partial_ones()
    {
        await using var backend = new MemoryBackend(8 * Page);
        var model = new BackendModel(backend);
        await model.WriteAsync(0, TestData.Random(8 * Page, 12));

        await model.TrimAsync(2 * Page + 1, 4 * Page);

        await model.AssertMatchesAsync();
        Assert.Equal(5L * Page, backend.AllocatedBytes);
        Assert.Equal(
            [new NbdExtent(0, 3 * Page, 0), new NbdExtent(3 * Page, 3 * Page, Hole), new NbdExtent(6 * Page, 2 * Page, 0)],
            await BackendModel.MapAsync(backend, 0, backend.Size, MemoryBackend.MaxExtentsPerCall));
    }

    [Fact]
    public async Task A_write_of_zeroes_into_a_hole_allocates_nothing()
    {
        await using var backend = new MemoryBackend(64L * 1024 * 1024);

        await backend.WriteAsync(Page / 2, new byte[5 * Page], fua: false, CancellationToken.None);

        Assert.Equal(0, backend.AllocatedBytes);
        Assert.Equal([new NbdExtent(0, backend.Size, Hole)], await BackendModel.MapAsync(backend, 0, backend.Size, MemoryBackend.MaxExtentsPerCall));
    }

    [Fact]
    public async Task A_one_tebibyte_disk_with_a_few_writes_uses_little_memory_and_maps_them()
    {
        const long tebibyte = 1L << 40;
        var before = GC.GetTotalMemory(forceFullCollection: true);
        await using var backend = new MemoryBackend(tebibyte);
        long[] offsets = [0, 3L << 30, (700L << 30) + Page - 1000, tebibyte - 4096];
        var data = TestData.Random(4096, 13);
        foreach (var offset in offsets)
        {
            await backend.WriteAsync(offset, data, fua: false, CancellationToken.None);
        }

        var used = GC.GetTotalMemory(forceFullCollection: true) - before;

        // Five pages (the write at 700 GiB + 12345 straddles two) and four page tables of 32 KiB.
        Assert.Equal(5L * Page, backend.AllocatedBytes);
        Assert.True(used < 2 * 1024 * 1024, $"{used} bytes of managed memory for a 1 TiB disk holding 20 KiB");
        foreach (var offset in offsets)
        {
            var back = new byte[4096];
            await backend.ReadAsync(offset, back, CancellationToken.None);
            BackendModel.AssertSame(data, back, offset, "read back");
        }

        var map = await BackendModel.MapAsync(backend, 0, tebibyte, MemoryBackend.MaxExtentsPerCall);
        NbdExtent[] expected =
        [
            new(0, Page, 0),
            new(Page, (3L << 30) - Page, Hole),
            new(3L << 30, Page, 0),
            new((3L << 30) + Page, (700L << 30) - (3L << 30) - Page, Hole),
            new(700L << 30, 2 * Page, 0),
            new((700L << 30) + 2 * Page, tebibyte - Page - (700L << 30) - 2 * Page, Hole),
            new(tebibyte - Page, Page, 0),
        ];
        Assert.Equal(expected, map);
        GC.KeepAlive(backend);
    }

    [Fact]
    public async Task Allocation_respects_the_asked_range_and_merges_adjacent_pages()
    {
        await using var backend = new MemoryBackend(16 * Page);
        foreach (var page in new[] { 1, 2, 3, 6, 9, 10 })
        {
            await backend.WriteAsync((long)page * Page + 7, new byte[] { 1 }, fua: false, CancellationToken.None);
        }

        var extents = await backend.GetAllocationAsync(Page + 500, 8 * Page, CancellationToken.None);

        Assert.Equal(
            [
                new NbdExtent(Page + 500, 3 * Page - 500, 0),
                new NbdExtent(4 * Page, 2 * Page, Hole),
                new NbdExtent(6 * Page, Page, 0),
                new NbdExtent(7 * Page, 2 * Page, Hole),
                new NbdExtent(9 * Page, 500, 0),
            ],
            extents);
    }

    [Fact]
    public async Task Allocation_stops_after_1024_extents_and_the_rest_follows_on_the_next_call()
    {
        const int pages = 3000;
        await using var backend = new MemoryBackend((long)pages * Page);
        for (var page = 0; page < pages; page += 2)
        {
            await backend.WriteAsync((long)page * Page, new byte[] { 0xff }, fua: false, CancellationToken.None);
        }

        var first = await backend.GetAllocationAsync(0, backend.Size, CancellationToken.None);
        var map = await BackendModel.MapAsync(backend, 0, backend.Size, MemoryBackend.MaxExtentsPerCall);

        Assert.Equal(MemoryBackend.MaxExtentsPerCall, first.Count);
        Assert.Equal(pages, map.Count);
        for (var page = 0; page < pages; page++)
        {
            Assert.Equal(new NbdExtent((long)page * Page, Page, page % 2 == 0 ? 0 : Hole), map[page]);
        }
    }

    [Fact]
    public async Task A_disk_past_its_memory_limit_fails_writes_with_ENOSPC_and_zeroing_makes_room()
    {
        await using var backend = new MemoryBackend(1L << 30) { MaxMemory = 4L * Page };
        await backend.WriteAsync(0, TestData.Random(4 * Page, 14), fua: false, CancellationToken.None);

        var full = await Assert.ThrowsAsync<NbdBackendException>(async () =>
            await backend.WriteAsync(100L * Page, new byte[] { 1 }, fua: false, CancellationToken.None));
        Assert.Equal(NbdError.ENOSPC, full.BackendError);
        Assert.Equal(4L * Page, backend.AllocatedBytes);

        await backend.TrimAsync(0, Page, fua: false, CancellationToken.None);
        await backend.WriteAsync(100L * Page, new byte[] { 1 }, fua: false, CancellationToken.None);
        Assert.Equal(4L * Page, backend.AllocatedBytes);
    }

    [Fact]
    public async Task It_advertises_trim_fast_zero_flush_and_allocation_and_never_refuses_a_fast_zero()
    {
        await using var backend = new MemoryBackend(1L << 50);
        Assert.True(backend.CanTrim);
        Assert.True(backend.CanFastZero);
        Assert.True(backend.CanFlush);
        Assert.True(backend.CanReportAllocation);
        Assert.False(backend.IsReadOnly);

        // Zeroing most of a petabyte that holds one page is one binary search, not a walk over 2^34 pages.
        await backend.WriteAsync((1L << 49) + 3, new byte[] { 9 }, fua: true, CancellationToken.None);
        await backend.WriteZeroesAsync(1, (1L << 50) - 2, mayPunchHole: false, fastOnly: true, fua: true, CancellationToken.None);
        await backend.FlushAsync(CancellationToken.None);

        var back = new byte[8];
        await backend.ReadAsync(1L << 49, back, CancellationToken.None);
        Assert.Equal(new byte[8], back);
        Assert.Equal(Page, backend.AllocatedBytes);
    }
}
