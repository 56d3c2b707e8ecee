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
}
