using System.Globalization;
using Whitesky.Migration.Transfer;

namespace Whitesky.Migration.Tests.Transfer;

public sealed class RequestBufferPoolTests
{
    private const int Size = 256 * 1024;

    [Fact]
    public async Task Buffers_are_distinct_and_keep_what_was_written_into_them()
    {
        using var pool = new RequestBufferPool(Size, 4);
        var buffers = new List<Memory<byte>>();
        for (var i = 0; i < pool.Count; i++)
        {
            var buffer = await pool.RentAsync(CancellationToken.None);
            Assert.Equal(Size, buffer.Length);
            buffer.Span.Fill((byte)(i + 1));
            buffers.Add(buffer);
        }

        // Had two buffers overlapped, the later fill would show in the earlier one.
        for (var i = 0; i < buffers.Count; i++)
        {
            Assert.False(buffers[i].Span.ContainsAnyExcept((byte)(i + 1)), $"buffer {i} was overwritten by another");
        }

        foreach (var buffer in buffers)
        {
            pool.Return(buffer);
        }
    }

    [Fact]
    public async Task Renting_waits_while_every_buffer_is_out_and_then_reuses_a_returned_one()
    {
        using var pool = new RequestBufferPool(Size, 2);
        var first = await pool.RentAsync(CancellationToken.None);
        var second = await pool.RentAsync(CancellationToken.None);
        first.Span.Fill(0xA5);

        var third = pool.RentAsync(CancellationToken.None).AsTask();
        Assert.False(third.IsCompleted);

        pool.Return(first);
        var reused = await third.WaitAsync(TimeSpan.FromSeconds(20));
        Assert.False(reused.Span.ContainsAnyExcept((byte)0xA5));
        Assert.True(reused.Span.Overlaps(first.Span));

        pool.Return(reused);
        pool.Return(second);
    }

    [Fact]
    public async Task A_buffer_still_out_at_dispose_stays_valid_until_it_comes_back()
    {
        var pool = new RequestBufferPool(Size, 2);
        var straggler = await pool.RentAsync(CancellationToken.None);
        pool.Dispose();

        // A write still in flight after a failed copy keeps using its buffer: the memory must not be freed under it.
        straggler.Span.Fill(0x3C);
        Assert.False(straggler.Span.ContainsAnyExcept((byte)0x3C));

        pool.Return(straggler);
        Assert.Throws<ObjectDisposedException>(() => straggler.Span[0]);
        await Assert.ThrowsAsync<ObjectDisposedException>(() => pool.RentAsync(CancellationToken.None).AsTask());
    }

    [Fact]
    public async Task On_linux_the_buffers_are_advised_for_transparent_huge_pages()
    {
        Assert.True(OperatingSystem.IsLinux(), "huge-page advice is Linux-only; this suite runs on Linux");
        var mode = await File.ReadAllTextAsync("/sys/kernel/mm/transparent_hugepage/enabled");
        var enabled = !mode.Contains("[never]", StringComparison.Ordinal);

        using var pool = new RequestBufferPool(2 * RequestBufferPool.HugePageSize, 2);
        Assert.Equal(enabled, pool.HugePages);
        var buffer = await pool.RentAsync(CancellationToken.None);
        try
        {
            buffer.Span.Fill(1);
            nint address;
            unsafe
            {
                using var pin = buffer.Pin();
                address = (nint)pin.Pointer;
            }

            Assert.Equal(0, address % RequestBufferPool.HugePageSize);

            // The kernel's own view of the mapping: eligible for huge pages exactly when THP is not switched off.
            var eligible = await SmapsFieldAsync(address, "THPeligible:");
            Assert.Equal(enabled ? "1" : "0", eligible);
        }
        finally
        {
            pool.Return(buffer);
        }
    }

    private static async Task<string> SmapsFieldAsync(nint address, string field)
    {
        var inMapping = false;
        foreach (var line in await File.ReadAllLinesAsync("/proc/self/smaps"))
        {
            var dash = line.IndexOf('-', StringComparison.Ordinal);
            var space = line.IndexOf(' ', StringComparison.Ordinal);
            if (dash > 0 && space > dash && !line.EndsWith(':') && ulong.TryParse(line.AsSpan(0, dash), NumberStyles.HexNumber, CultureInfo.InvariantCulture, out var start)
                && ulong.TryParse(line.AsSpan(dash + 1, space - dash - 1), NumberStyles.HexNumber, CultureInfo.InvariantCulture, out var end))
            {
                inMapping = (ulong)address >= start && (ulong)address < end;
            }
            else if (inMapping && line.StartsWith(field, StringComparison.Ordinal))
            {
                return line[field.Length..].Trim();
            }
        }

        throw new InvalidOperationException($"/proc/self/smaps has no mapping with {field} around 0x{address:x}.");
    }
}
