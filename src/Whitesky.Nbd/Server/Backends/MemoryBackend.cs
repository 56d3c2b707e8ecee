using System.Globalization;

namespace Whitesky.Nbd.Server;

/// <summary>
/// A sparse disk in memory (like nbdkit's <c>memory</c> plugin): it can be terabytes large, and only the
/// <see cref="PageSize"/> pages that hold written, non-zero data take memory. Everything is lost on dispose.
/// </summary>
/// <remarks>
/// <para>
/// Every call may run concurrently, and reads and writes take no locks: pages are installed with a
/// compare-and-swap, so writes to different bytes of a page that is just being created both land. Only creating
/// the page table of a new 256 MiB region takes a lock, once per region.
/// </para>
/// <para>
/// A write of zeroes into a missing page allocates nothing. <c>WRITE_ZEROES</c> and <c>TRIM</c> free the whole
/// pages in their range and zero the partial pages at its edges, so both are always fast. With
/// <c>NBD_CMD_FLAG_NO_HOLE</c> the pages that exist are zeroed and kept, and missing pages stay missing (reserving
/// memory ahead is pointless for a disk that lives in memory, unless <see cref="MaxMemory"/> is set).
/// </para>
/// <para>
/// <c>FLUSH</c> is advertised, so clients may send it and <c>FUA</c>, and does nothing: a completed write is as
/// durable as this backend gets.
/// </para>
/// </remarks>
public sealed class MemoryBackend : NbdBackend
{
    /// <summary>The unit in which memory is allocated: 64 KiB.</summary>
    public const int PageSize = 1 << PageShift;

    /// <summary>The most extents one <see cref="GetAllocationAsync"/> returns; the client asks again for the rest.</summary>
    internal const int MaxExtentsPerCall = 1024;

    private const int PageShift = 16;
    private const int PageMask = PageSize - 1;
    private const int PagesPerRegionShift = 12;
    private const int PagesPerRegion = 1 << PagesPerRegionShift;
    private const int RegionShift = PageShift + PagesPerRegionShift;
    private const long RegionSize = 1L << RegionShift;
    private const uint HoleAndZero = NbdExtent.HoleFlag | NbdExtent.ZeroFlag;

    private readonly Lock _regionsLock = new();

    // Sorted by index and replaced, never changed, when a region is added: readers take the current array
    // without a lock and binary-search it. Regions are never removed (only their pages), so there are at
    // most Size / 256 MiB of them.
    private Region[] _regions = [];
    private long _allocatedPages;

    /// <summary>Creates an empty (all-zero) disk.</summary>
    /// <param name="size">The size of the disk in bytes; memory is used only for what is written.</param>
    public MemoryBackend(long size)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(size);
        Size = size;
    }

    /// <inheritdoc />
    public override long Size { get; }

    /// <summary>
    /// The most bytes of pages the disk may hold (default: no limit). A write that needs a page past it fails with
    /// <see cref="NbdError.ENOSPC"/>, as a full disk would.
    /// </summary>
    public long MaxMemory { get; init; } = long.MaxValue;

    /// <summary>The bytes of pages allocated now (a multiple of <see cref="PageSize"/>).</summary>
    public long AllocatedBytes => Volatile.Read(ref _allocatedPages) * PageSize;

    /// <summary>True: trimming frees pages.</summary>
    public override bool CanTrim => true;

    /// <summary>True: zeroing frees or clears pages, never slower than a write.</summary>
    public override bool CanFastZero => true;

    /// <summary>True, so that clients may send <c>FLUSH</c> and <c>FUA</c>; both do nothing.</summary>
    public override bool CanFlush => true;

    /// <summary>True: missing pages are holes.</summary>
    public override bool CanReportAllocation => true;

    /// <inheritdoc />
    public override ValueTask ReadAsync(long offset, Memory<byte> buffer, CancellationToken cancellationToken)
    {
        Read(offset, buffer.Span);
        return ValueTask.CompletedTask;
    }

    /// <inheritdoc />
    public override ValueTask WriteAsync(long offset, ReadOnlyMemory<byte> data, bool fua, CancellationToken cancellationToken)
    {
        Write(offset, data.Span);
        return ValueTask.CompletedTask;
    }

    /// <summary>Frees the whole pages in the range (unless <paramref name="mayPunchHole"/> is false) and zeroes the rest; never refused as slow.</summary>
    public override ValueTask WriteZeroesAsync(long offset, long length, bool mayPunchHole, bool fastOnly, bool fua, CancellationToken cancellationToken)
    {
        Zero(offset, length, freePages: mayPunchHole);
        return ValueTask.CompletedTask;
    }

    /// <summary>Frees the whole pages in the range and zeroes the partial pages at its edges.</summary>
    public override ValueTask TrimAsync(long offset, long length, bool fua, CancellationToken cancellationToken)
    {
        Zero(offset, length, freePages: true);
        return ValueTask.CompletedTask;
    }

    /// <summary>
    /// Missing pages as <see cref="NbdExtent.HoleFlag"/> | <see cref="NbdExtent.ZeroFlag"/>, allocated pages as data
    /// (flags 0), adjacent runs merged, at most 1024 extents per call.
    /// </summary>
    public override ValueTask<IReadOnlyList<NbdExtent>> GetAllocationAsync(long offset, long length, CancellationToken cancellationToken)
    {
        var extents = new List<NbdExtent>();
        var regions = Volatile.Read(ref _regions);
        var end = offset + length;
        var position = offset;
        var next = FirstRegionAtOrAfter(regions, offset >> RegionShift);
        while (position < end)
        {
            var regionIndex = position >> RegionShift;
            if (next < regions.Length && regions[next].Index == regionIndex)
            {
                var region = regions[next++];
                var regionStart = regionIndex << RegionShift;
                var regionEnd = end - regionStart <= RegionSize ? end : regionStart + RegionSize;
                while (position < regionEnd)
                {
                    var page = (int)((position - regionStart) >> PageShift);
                    var toPageEnd = PageSize - (position & PageMask);
                    var pageEnd = regionEnd - position <= toPageEnd ? regionEnd : position + toPageEnd;
                    var flags = Volatile.Read(ref region.Pages[page]) is null ? HoleAndZero : 0;
                    if (!Append(extents, position, pageEnd - position, flags))
                    {
                        return Done(extents);
                    }

                    position = pageEnd;
                }
            }
            else
            {
                // No page table here: a hole up to the next region that has one.
                var holeEnd = next < regions.Length ? Math.Min(end, regions[next].Index << RegionShift) : end;
                if (!Append(extents, position, holeEnd - position, HoleAndZero))
                {
                    return Done(extents);
                }

                position = holeEnd;
            }
        }

        return Done(extents);

        static ValueTask<IReadOnlyList<NbdExtent>> Done(List<NbdExtent> extents) => ValueTask.FromResult<IReadOnlyList<NbdExtent>>(extents);
    }

    /// <summary>Drops every page.</summary>
    public override ValueTask DisposeAsync()
    {
        lock (_regionsLock)
        {
            Volatile.Write(ref _regions, []);
            Volatile.Write(ref _allocatedPages, 0);
        }

        return base.DisposeAsync();
    }

    private void Read(long offset, Span<byte> destination)
    {
        var regions = Volatile.Read(ref _regions);
        Region? region = null;
        while (!destination.IsEmpty)
        {
            var inPage = (int)(offset & PageMask);
            var count = Math.Min(PageSize - inPage, destination.Length);
            var page = FindPage(regions, ref region, offset);
            if (page is null)
            {
                destination[..count].Clear();
            }
            else
            {
                page.AsSpan(inPage, count).CopyTo(destination);
            }

            destination = destination[count..];
            offset += count;
        }
    }

    private void Write(long offset, ReadOnlySpan<byte> data)
    {
        var regions = Volatile.Read(ref _regions);
        Region? region = null;
        while (!data.IsEmpty)
        {
            var inPage = (int)(offset & PageMask);
            var count = Math.Min(PageSize - inPage, data.Length);
            var part = data[..count];
            var page = FindPage(regions, ref region, offset);
            if (page is not null)
            {
                part.CopyTo(page.AsSpan(inPage));
            }
            else if (part.ContainsAnyExcept((byte)0))
            {
                if (region is null || region.Index != offset >> RegionShift)
                {
                    region = GetOrAddRegion(offset >> RegionShift);
                    regions = Volatile.Read(ref _regions);
                }

                InstallPage(region, (int)((offset >> PageShift) & (PagesPerRegion - 1)), inPage, part);
            }

            data = data[count..];
            offset += count;
        }
    }

    /// <summary>
    /// Puts a new page holding <paramref name="part"/> at <paramref name="inPage"/> (zeroes elsewhere) into an empty
    /// slot. When another write installed one first, ours is dropped and the bytes go into theirs.
    /// </summary>
    private void InstallPage(Region region, int slot, int inPage, ReadOnlySpan<byte> part)
    {
        ReservePage();

        // Pinned pages live on the pinned object heap, which the GC never compacts: a disk of gigabytes is not
        // copied from generation to generation. Every byte is written below, so it need not be zeroed first.
        var page = GC.AllocateUninitializedArray<byte>(PageSize, pinned: true);
        page.AsSpan(0, inPage).Clear();
        part.CopyTo(page.AsSpan(inPage));
        page.AsSpan(inPage + part.Length).Clear();

        var winner = Interlocked.CompareExchange(ref region.Pages[slot], page, null);
        if (winner is not null)
        {
            Interlocked.Decrement(ref _allocatedPages);
            part.CopyTo(winner.AsSpan(inPage));
        }
    }

    private void ReservePage()
    {
        var pages = Interlocked.Increment(ref _allocatedPages);
        if (pages > MaxMemory / PageSize)
        {
            Interlocked.Decrement(ref _allocatedPages);
            throw new NbdBackendException(NbdError.ENOSPC, string.Create(CultureInfo.InvariantCulture,
                $"the memory disk is full: it may hold {MaxMemory} bytes of data (MaxMemory)"));
        }
    }

    private void Zero(long offset, long length, bool freePages)
    {
        if (length <= 0)
        {
            return;
        }

        var regions = Volatile.Read(ref _regions);
        var end = offset + length;
        for (var i = FirstRegionAtOrAfter(regions, offset >> RegionShift); i < regions.Length; i++)
        {
            var region = regions[i];
            var regionStart = region.Index << RegionShift;
            if (regionStart >= end)
            {
                break;
            }

            var from = Math.Max(offset, regionStart);
            var to = end - regionStart <= RegionSize ? end : regionStart + RegionSize;
            while (from < to)
            {
                var slot = (int)((from - regionStart) >> PageShift);
                var inPage = (int)(from & PageMask);
                var count = (int)Math.Min(PageSize - inPage, to - from);
                if (count == PageSize && freePages)
                {
                    if (Interlocked.Exchange(ref region.Pages[slot], null) is not null)
                    {
                        Interlocked.Decrement(ref _allocatedPages);
                    }
                }
                else
                {
                    Volatile.Read(ref region.Pages[slot])?.AsSpan(inPage, count).Clear();
                }

                from += count;
            }
        }
    }

    /// <summary>The page holding <paramref name="offset"/>, or null; <paramref name="region"/> caches the last region looked up.</summary>
    private static byte[]? FindPage(Region[] regions, ref Region? region, long offset)
    {
        var regionIndex = offset >> RegionShift;
        if (region is null || region.Index != regionIndex)
        {
            var i = FirstRegionAtOrAfter(regions, regionIndex);
            if (i == regions.Length || regions[i].Index != regionIndex)
            {
                region = null;
                return null;
            }

            region = regions[i];
        }

        return Volatile.Read(ref region.Pages[(int)((offset >> PageShift) & (PagesPerRegion - 1))]);
    }

    private Region GetOrAddRegion(long index)
    {
        lock (_regionsLock)
        {
            var regions = _regions;
            var i = FirstRegionAtOrAfter(regions, index);
            if (i < regions.Length && regions[i].Index == index)
            {
                return regions[i];
            }

            var region = new Region(index);
            var grown = new Region[regions.Length + 1];
            Array.Copy(regions, grown, i);
            grown[i] = region;
            Array.Copy(regions, i, grown, i + 1, regions.Length - i);
            Volatile.Write(ref _regions, grown);
            return region;
        }
    }

    /// <summary>The position of the first region whose index is at least <paramref name="index"/> (binary search).</summary>
    private static int FirstRegionAtOrAfter(Region[] regions, long index)
    {
        int low = 0, high = regions.Length;
        while (low < high)
        {
            var middle = (low + high) >>> 1;
            if (regions[middle].Index < index)
            {
                low = middle + 1;
            }
            else
            {
                high = middle;
            }
        }

        return low;
    }

    /// <summary>Adds a run, merged into the last one when it continues it with the same flags; false when the list is full.</summary>
    private static bool Append(List<NbdExtent> extents, long offset, long length, uint flags)
    {
        if (extents.Count > 0 && extents[^1].Flags == flags)
        {
            extents[^1] = extents[^1] with { Length = extents[^1].Length + length };
            return true;
        }

        if (extents.Count == MaxExtentsPerCall)
        {
            return false;
        }

        extents.Add(new NbdExtent(offset, length, flags));
        return true;
    }

    /// <summary>The page table of 256 MiB of the disk: <see cref="PagesPerRegion"/> slots, null where nothing was written.</summary>
    private sealed class Region(long index)
    {
        public readonly long Index = index;
        public readonly byte[]?[] Pages = new byte[]?[PagesPerRegion];
    }
}
