using System.Globalization;
using System.Runtime.Versioning;
using System.Text.Json;
using Whitesky.Nbd.Server;
using Whitesky.Nbd.Tests.Peers;

namespace Whitesky.Nbd.Tests.Backends;

[SupportedOSPlatform("linux")]
public class SparseFileBackendTests
{
    private const int MiB = 1024 * 1024;
    private const uint Hole = NbdExtent.HoleFlag | NbdExtent.ZeroFlag;

    [Fact]
    public async Task Create_makes_a_file_of_the_size_that_takes_no_blocks()
    {
        using var dir = await ScratchDirectory.CreateAsync("disk");
        var path = dir.File("disk.raw");

        await using (var backend = SparseFileBackend.Create(path, 64 * MiB))
        {
            Assert.Equal(64 * MiB, backend.Size);
            Assert.Equal(path, backend.Path);
            Assert.True(backend.CanTrim);
            Assert.True(backend.CanFastZero);
            Assert.True(backend.CanFlush);
            Assert.True(backend.CanReportAllocation);
            Assert.Equal([new NbdExtent(0, 64 * MiB, Hole)], await BackendModel.MapAsync(backend, 0, backend.Size, SparseFileBackend.MaxExtentsPerCall));
        }

        Assert.Equal(64 * MiB, new FileInfo(path).Length);
        Assert.Equal(0, await AllocatedBlocksAsync(path));
        Assert.Equal([(0L, 64L * MiB, false)], await QemuMapAsync(path));
        Assert.Throws<IOException>(() => SparseFileBackend.Create(path, MiB));
    }

    [Theory]
    [InlineData("disk", 1)]
    [InlineData("disk", 2)]
    [InlineData("tmpfs", 3)]
    public async Task Random_writes_zeroes_and_trims_read_back_like_a_model_and_the_flushed_file_holds_them(string fileSystem, int seed)
    {
        using var dir = await ScratchDirectory.CreateAsync(fileSystem);
        var path = dir.File("disk.raw");
        byte[] expected;
        await using (var backend = SparseFileBackend.Create(path, 8 * MiB + 4321))
        {
            var model = new BackendModel(backend);
            await model.RunRandomAsync(seed, operations: 500, maxLength: 300_000);
            await model.AssertMatchesAsync();
            await backend.FlushAsync(CancellationToken.None);
            expected = model.Expected;

            // The file itself, read through another handle while the backend is open.
            Assert.Equal(TestData.Sha256(expected), await TestData.Sha256FileAsync(path));
        }

        Assert.Equal(TestData.Sha256(expected), await TestData.Sha256FileAsync(path));
    }

    [Fact]
    public async Task Concurrent_writes_from_many_tasks_at_different_offsets_all_land()
    {
        const int size = 24 * MiB;
        const int slice = 3000;
        const int tasks = 16;
        using var dir = await ScratchDirectory.CreateAsync("disk");
        var path = dir.File("disk.raw");
        var expected = TestData.Random(size, 21);
        await using (var backend = SparseFileBackend.Create(path, size))
        {
            await Task.WhenAll(Enumerable.Range(0, tasks).Select(t => Task.Run(async () =>
            {
                for (var offset = t * slice; offset < size; offset += tasks * slice)
                {
                    await backend.WriteAsync(offset, expected.AsMemory(offset, Math.Min(slice, size - offset)), fua: false, CancellationToken.None);
                }
            })));

            var actual = await BackendModel.ReadAllAsync(backend);

            BackendModel.AssertSame(expected, actual, 0, "after concurrent writes");
            await backend.FlushAsync(CancellationToken.None);
        }

        Assert.Equal(TestData.Sha256(expected), await TestData.Sha256FileAsync(path));
    }

    [Theory]
    [InlineData("disk")]
    [InlineData("tmpfs")]
    public async Task Punching_a_hole_frees_blocks_and_qemu_img_map_shows_it(string fileSystem)
    {
        using var dir = await ScratchDirectory.CreateAsync(fileSystem);
        var path = dir.File("disk.raw");
        await using var backend = SparseFileBackend.Create(path, 8 * MiB);
        var model = new BackendModel(backend);
        await model.WriteAsync(0, TestData.Random(8 * MiB, 22));
        await backend.FlushAsync(CancellationToken.None);
        var before = await AllocatedBlocksAsync(path);

        await model.ZeroAsync(2 * MiB, 4 * MiB, mayPunchHole: true);
        await backend.FlushAsync(CancellationToken.None);

        var after = await AllocatedBlocksAsync(path);
        Assert.True(after <= before - 4 * MiB / 512, $"{before} blocks of 512 bytes before punching 4 MiB, {after} after");
        await model.AssertMatchesAsync();
        Assert.Equal([(0L, 2L * MiB, true), (2L * MiB, 4L * MiB, false), (6L * MiB, 2L * MiB, true)], await QemuMapAsync(path));
        Assert.Equal(
            [new NbdExtent(0, 2 * MiB, 0), new NbdExtent(2 * MiB, 4 * MiB, Hole), new NbdExtent(6 * MiB, 2 * MiB, 0)],
            await BackendModel.MapAsync(backend, 0, backend.Size, SparseFileBackend.MaxExtentsPerCall));
    }

    [Theory]
    [InlineData("disk", true)]
    [InlineData("disk", false)]
    [InlineData("tmpfs", true)]
    [InlineData("tmpfs", false)]
    public async Task Zeroing_and_trimming_unaligned_ranges_zero_exactly_the_asked_bytes(string fileSystem, bool mayPunchHole)
    {
        using var dir = await ScratchDirectory.CreateAsync(fileSystem);
        await using var backend = SparseFileBackend.Create(dir.File("disk.raw"), MiB);
        var model = new BackendModel(backend);
        await model.WriteAsync(0, TestData.Random(MiB, 23));

        // Starts and ends inside file system blocks; one range lies within a single block.
        await model.ZeroAsync(3 * 4096 + 123, 5 * 4096 + 1000, mayPunchHole);
        await model.ZeroAsync(20 * 4096 + 1, 4094, mayPunchHole);
        await model.TrimAsync(40 * 4096 + 17, 9 * 4096);
        await model.ZeroAsync(MiB - 5000, 5000, mayPunchHole);

        await model.AssertMatchesAsync();
    }

    [Fact]
    public async Task No_hole_zeroing_keeps_the_blocks_allocated_where_the_file_system_zeroes_in_place()
    {
        using var dir = await ScratchDirectory.CreateAsync("disk");
        var path = dir.File("disk.raw");
        await using var backend = SparseFileBackend.Create(path, 4 * MiB);
        var model = new BackendModel(backend);
        await model.WriteAsync(0, TestData.Random(4 * MiB, 24));
        await backend.FlushAsync(CancellationToken.None);
        var before = await AllocatedBlocksAsync(path);

        await backend.WriteZeroesAsync(4096, 4 * MiB - 8192, mayPunchHole: false, fastOnly: true, fua: true, CancellationToken.None);
        Array.Clear(model.Expected, 4096, 4 * MiB - 8192);

        Assert.Equal(before, await AllocatedBlocksAsync(path));
        await model.AssertMatchesAsync();
    }

    [Fact]
    public async Task On_tmpfs_a_fast_no_hole_zero_is_refused_untouched_and_a_slow_one_writes_zeroes()
    {
        using var dir = await ScratchDirectory.CreateAsync("tmpfs");
        var path = dir.File("disk.raw");
        await using var backend = SparseFileBackend.Create(path, 4 * MiB);
        var model = new BackendModel(backend);
        await model.WriteAsync(0, TestData.Random(4 * MiB, 25));
        Assert.True(backend.CanFastZero);

        var refused = await Assert.ThrowsAsync<NbdBackendException>(async () =>
            await backend.WriteZeroesAsync(MiB, MiB, mayPunchHole: false, fastOnly: true, fua: false, CancellationToken.None));
        Assert.Equal(NbdError.ENOTSUP, refused.BackendError);
        await model.AssertMatchesAsync();

        // Punching is fast on tmpfs, and without FAST_ZERO a NO_HOLE zero falls back to writing zeroes.
        await backend.WriteZeroesAsync(MiB, MiB, mayPunchHole: true, fastOnly: true, fua: false, CancellationToken.None);
        await backend.WriteZeroesAsync(3 * MiB + 1, MiB - 2, mayPunchHole: false, fastOnly: false, fua: true, CancellationToken.None);
        Array.Clear(model.Expected, MiB, MiB);
        Array.Clear(model.Expected, 3 * MiB + 1, MiB - 2);
        await model.AssertMatchesAsync();
        Assert.Equal([(0L, MiB * 1L, true), (MiB * 1L, MiB * 1L, false), (2L * MiB, 2L * MiB, true)], await QemuMapAsync(path));
    }

    [Theory]
    [InlineData("disk")]
    [InlineData("tmpfs")]
    public async Task Allocation_matches_qemu_img_map_of_the_same_file(string fileSystem)
    {
        using var dir = await ScratchDirectory.CreateAsync(fileSystem);
        var path = dir.File("disk.raw");
        await using var backend = SparseFileBackend.Create(path, 32 * MiB + 4096);
        var random = new Random(26);
        for (var i = 0; i < 60; i++)
        {
            var offset = random.NextInt64(backend.Size - 200_000);
            if (i % 3 == 2)
            {
                await backend.WriteZeroesAsync(offset, random.Next(1, 200_000), mayPunchHole: true, fastOnly: false, fua: false, CancellationToken.None);
            }
            else
            {
                await backend.WriteAsync(offset, TestData.Random(random.Next(1, 200_000), i), fua: false, CancellationToken.None);
            }
        }

        await backend.FlushAsync(CancellationToken.None);

        var ours = await BackendModel.MapAsync(backend, 0, backend.Size, SparseFileBackend.MaxExtentsPerCall);
        Assert.All(ours, e => Assert.True(e.Flags is 0 or Hole, $"flags {e.Flags}"));
        var qemu = await QemuMapAsync(path);
        Assert.Equal(qemu, ours.Select(e => (e.Offset, e.Length, e.Flags == 0)).ToList());
        Assert.Contains(ours, e => e.Flags == Hole);
        Assert.Contains(ours, e => e.Flags == 0);

        // A range that starts and ends inside extents is clipped to what was asked.
        var inner = ours.First(e => e.Flags == 0 && e.Length > 2);
        var part = await backend.GetAllocationAsync(inner.Offset + 1, inner.Length - 1 + 4096, CancellationToken.None);
        Assert.Equal(new NbdExtent(inner.Offset + 1, inner.Length - 1, 0), part[0]);
        Assert.Equal(inner.End + 4096, part[^1].End);
    }

    [Fact]
    public async Task Allocation_stops_after_1024_extents_and_the_rest_follows_on_the_next_call()
    {
        const int blocks = 3000;
        using var dir = await ScratchDirectory.CreateAsync("disk");
        await using var backend = SparseFileBackend.Create(dir.File("disk.raw"), blocks * 4096L);
        for (var block = 0; block < blocks; block += 2)
        {
            await backend.WriteAsync(block * 4096L, new byte[] { 0xff }, fua: false, CancellationToken.None);
        }

        var first = await backend.GetAllocationAsync(0, backend.Size, CancellationToken.None);
        var map = await BackendModel.MapAsync(backend, 0, backend.Size, SparseFileBackend.MaxExtentsPerCall);

        Assert.Equal(SparseFileBackend.MaxExtentsPerCall, first.Count);
        Assert.Equal(blocks, map.Count);
        for (var block = 0; block < blocks; block++)
        {
            Assert.Equal(new NbdExtent(block * 4096L, 4096, block % 2 == 0 ? 0 : Hole), map[block]);
        }
    }

    [Fact]
    public async Task Opens_a_file_that_qemu_io_wrote_and_sees_its_bytes_and_holes()
    {
        using var dir = await ScratchDirectory.CreateAsync("disk");
        var path = dir.File("disk.raw");
        await ExternalTool.RunAsync("qemu-img", ["create", "-q", "-f", "raw", path, "16M"]);
        await ExternalTool.RunAsync("qemu-io", ["-f", "raw", "-c", "write -P 0xab 1M 64k", "-c", "write -P 0xcd 5M 4k", path]);

        await using var backend = SparseFileBackend.Open(path, readOnly: true);

        Assert.Equal(16 * MiB, backend.Size);
        var bytes = await BackendModel.ReadAllAsync(backend);
        var expected = new byte[16 * MiB];
        expected.AsSpan(MiB, 64 * 1024).Fill(0xab);
        expected.AsSpan(5 * MiB, 4096).Fill(0xcd);
        BackendModel.AssertSame(expected, bytes, 0, "file written by qemu-io");
        var map = await BackendModel.MapAsync(backend, 0, backend.Size, SparseFileBackend.MaxExtentsPerCall);
        Assert.Equal(await QemuMapAsync(path), map.Select(e => (e.Offset, e.Length, e.Flags == 0)).ToList());
        Assert.Contains(new NbdExtent(MiB, 64 * 1024, 0), map);
        Assert.Contains(new NbdExtent(5 * MiB, 4096, 0), map);
    }

    [Fact]
    public async Task A_read_only_backend_refuses_writes_zeroes_and_trims_and_leaves_the_file_alone()
    {
        using var dir = await ScratchDirectory.CreateAsync("disk");
        var path = dir.File("disk.raw");
        await File.WriteAllBytesAsync(path, TestData.Random(MiB, 27));
        var hash = await TestData.Sha256FileAsync(path);

        await using (var backend = SparseFileBackend.Open(path, readOnly: true))
        {
            Assert.True(backend.IsReadOnly);
            Assert.False(backend.CanFlush);
            Assert.False(backend.CanTrim);
            Assert.False(backend.CanFastZero);

            var write = await Assert.ThrowsAsync<NbdBackendException>(async () =>
                await backend.WriteAsync(0, new byte[] { 1 }, fua: false, CancellationToken.None));
            var zero = await Assert.ThrowsAsync<NbdBackendException>(async () =>
                await backend.WriteZeroesAsync(0, 4096, mayPunchHole: true, fastOnly: false, fua: false, CancellationToken.None));
            var trim = await Assert.ThrowsAsync<NbdBackendException>(async () =>
                await backend.TrimAsync(0, 4096, fua: false, CancellationToken.None));
            Assert.All(new[] { write, zero, trim }, e => Assert.Equal(NbdError.EPERM, e.BackendError));
            Assert.Contains(path, write.Message, StringComparison.Ordinal);
            await backend.FlushAsync(CancellationToken.None);
        }

        Assert.Equal(hash, await TestData.Sha256FileAsync(path));
    }

    [Fact]
    public async Task A_write_the_device_has_no_room_for_fails_with_ENOSPC()
    {
        // /dev/full fails every write with ENOSPC: the real errno, through RandomAccess, without needing a full disk.
        await using var backend = SparseFileBackend.Open("/dev/full");

        var full = await Assert.ThrowsAsync<NbdBackendException>(async () =>
            await backend.WriteAsync(0, new byte[4096], fua: false, CancellationToken.None));

        Assert.Equal(NbdError.ENOSPC, full.BackendError);
        Assert.Contains("/dev/full", full.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Writes_past_what_a_full_file_system_holds_fail_with_ENOSPC()
    {
        using var dir = new TempDirectory();
        var mount = Directory.CreateDirectory(dir.File("tiny")).FullName;
        await ExternalTool.RunAsync("mount", ["-t", "tmpfs", "-o", "size=1m", "wsnbd-tiny", mount]);
        try
        {
            await using var backend = SparseFileBackend.Create(Path.Combine(mount, "disk.raw"), 16 * MiB);

            var full = await Assert.ThrowsAsync<NbdBackendException>(async () =>
                await backend.WriteAsync(4 * MiB, TestData.Random(2 * MiB, 28), fua: false, CancellationToken.None));
            Assert.Equal(NbdError.ENOSPC, full.BackendError);

            // ZERO_RANGE is not on tmpfs: a NO_HOLE zero writes zero buffers, which do not fit either.
            var zero = await Assert.ThrowsAsync<NbdBackendException>(async () =>
                await backend.WriteZeroesAsync(8 * MiB, 2 * MiB, mayPunchHole: false, fastOnly: false, fua: false, CancellationToken.None));
            Assert.Equal(NbdError.ENOSPC, zero.BackendError);
        }
        finally
        {
            await ExternalTool.RunAsync("umount", [mount]);
        }
    }

    [Theory]
    [InlineData(28, NbdError.ENOSPC)]
    [InlineData(122, NbdError.ENOSPC)]
    [InlineData(27, NbdError.ENOSPC)]
    [InlineData(30, NbdError.EPERM)]
    [InlineData(22, NbdError.EINVAL)]
    [InlineData(95, NbdError.ENOTSUP)]
    [InlineData(5, NbdError.EIO)]
    [InlineData(117, NbdError.EIO)]
    public void Errno_values_map_to_the_nbd_error_a_client_can_act_on(int errno, NbdError expected) =>
        Assert.Equal(expected, LinuxFile.ToNbdError(errno));

    private static async Task<long> AllocatedBlocksAsync(string path) =>
        long.Parse((await ExternalTool.RunAsync("stat", ["-c", "%b", path])).Trim(), CultureInfo.InvariantCulture);

    /// <summary><c>qemu-img map --output=json</c> as (start, length, data) runs, adjacent runs of the same kind merged; holes must read as zero.</summary>
    private static async Task<List<(long Start, long Length, bool Data)>> QemuMapAsync(string path)
    {
        var json = await ExternalTool.RunAsync("qemu-img", ["map", "--output=json", "-f", "raw", path]);
        using var document = JsonDocument.Parse(json);
        var runs = new List<(long Start, long Length, bool Data)>();
        foreach (var entry in document.RootElement.EnumerateArray())
        {
            var start = entry.GetProperty("start").GetInt64();
            var length = entry.GetProperty("length").GetInt64();
            var data = entry.GetProperty("data").GetBoolean();
            Assert.True(data || entry.GetProperty("zero").GetBoolean(), $"qemu-img reports a hole at {start} that does not read as zero");
            if (runs.Count > 0 && runs[^1].Data == data && runs[^1].Start + runs[^1].Length == start)
            {
                runs[^1] = (runs[^1].Start, runs[^1].Length + length, data);
            }
            else
            {
                runs.Add((start, length, data));
            }
        }

        return runs;
    }
}
