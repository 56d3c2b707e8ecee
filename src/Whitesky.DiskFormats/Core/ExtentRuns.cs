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
    /// The merged extents of <c>[offset, end)</c> of a layered image, walked piece by piece: <paramref name="resolve"/>
    /// says how long the piece at a position is and what it is (one extent kind, the parent's extents, or extents of
    /// its own); each decoder keeps only its table lookup.
    /// </summary>
    public static async IAsyncEnumerable<DiskExtent> WalkAsync(long offset, long end, IVirtualDisk? parent,
        Func<long, long, CancellationToken, ValueTask<ExtentPiece>> resolve,
        [System.Runtime.CompilerServices.EnumeratorCancellation] CancellationToken cancellationToken)
    {
        DiskExtent? pending = null;
        var position = offset;
        while (position < end)
        {
            cancellationToken.ThrowIfCancellationRequested();
            var piece = await resolve(position, end - position, cancellationToken).ConfigureAwait(false);
            if (piece.ThroughParent)
            {
                await foreach (var e in ThroughParentAsync(parent!, position, piece.Length, cancellationToken).ConfigureAwait(false))
                {
                    if (Merge(ref pending, e) is { } done)
                    {
                        yield return done;
                    }
                }
            }
            else if (piece.Parts is { } parts)
            {
                foreach (var e in parts)
                {
                    if (Merge(ref pending, e) is { } done)
                    {
                        yield return done;
                    }
                }
            }
            else if (Merge(ref pending, new DiskExtent(position, piece.Length, piece.Kind)) is { } done)
            {
                yield return done;
            }

            position += piece.Length;
        }

        if (pending is { } last)
        {
            yield return last;
        }
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

/// <summary>
/// One piece of a layered image as <see cref="ExtentRuns.WalkAsync"/> sees it: <see cref="Length"/> bytes of one
/// <see cref="Kind"/>, or left to the parent (<see cref="ThroughParent"/>), or described by <see cref="Parts"/>.
/// </summary>
internal readonly record struct ExtentPiece(long Length, DiskExtentKind Kind, bool ThroughParent = false, IEnumerable<DiskExtent>? Parts = null)
{
    public static ExtentPiece Parent(long length) => new(length, DiskExtentKind.Unallocated, ThroughParent: true);
}
