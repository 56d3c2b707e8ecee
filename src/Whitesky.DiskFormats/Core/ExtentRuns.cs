namespace Whitesky.DiskFormats;

/// <summary>Coalesces extents as a decoder walks its tables (and its parent's extents) in offset order.</summary>
internal static class ExtentRuns
{
    /// <summary>
    /// Adds <paramref name="next"/> to the pending run: extends it when the kind is the same and the runs touch,
    /// otherwise makes <paramref name="next"/> pending and returns the finished run.
    /// </summary>
    public static DiskExtent? Merge(ref DiskExtent? pending, DiskExtent next)
    {
        if (pending is { } p && p.Kind == next.Kind && p.End == next.Offset)
        {
            pending = p with { Length = p.Length + next.Length };
            return null;
        }

        var done = pending;
        pending = next;
        return done;
    }

    /// <summary>
    /// The extents of a range a differencing layer leaves to its parent: the parent's own extents up to its capacity
    /// (a parent may be smaller than its child), the rest unallocated.
    /// </summary>
    public static async IAsyncEnumerable<DiskExtent> ThroughParentAsync(IVirtualDisk parent, long offset, long length,
        [System.Runtime.CompilerServices.EnumeratorCancellation] CancellationToken cancellationToken)
    {
        var end = offset + length;
        var parentEnd = Math.Min(end, parent.Capacity);
        if (parentEnd > offset)
        {
            await foreach (var extent in parent.GetExtentsAsync(offset, parentEnd - offset, cancellationToken).ConfigureAwait(false))
            {
                yield return extent;
            }
        }

        var from = Math.Max(parentEnd, offset);
        if (end > from)
        {
            yield return new DiskExtent(from, end - from, DiskExtentKind.Unallocated);
        }
    }
}
