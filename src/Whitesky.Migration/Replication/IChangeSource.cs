namespace Whitesky.Migration.Replication;

/// <summary>A run of a disk that replication copies in a pass.</summary>
/// <param name="Offset">Start in bytes.</param>
/// <param name="Length">Length in bytes.</param>
public readonly record struct ChangedRange(long Offset, long Length)
{
    /// <summary>The end of the run (exclusive).</summary>
    public long End => Offset + Length;
}

/// <summary>Builds the sorted, coalesced range lists of <see cref="ChangeSet"/>.</summary>
internal static class ChangedRanges
{
    /// <summary>Appends [<paramref name="start"/>, <paramref name="end"/>), extending the last range when they touch.</summary>
    public static void Append(List<ChangedRange> ranges, long start, long end)
    {
        if (ranges.Count > 0 && ranges[^1].End == start)
        {
            ranges[^1] = ranges[^1] with { Length = end - ranges[^1].Offset };
        }
        else
        {
            ranges.Add(new ChangedRange(start, end - start));
        }
    }
}

/// <summary>What one replication pass has to copy.</summary>
/// <param name="Pass">0 for the initial full sync, then 1, 2, ...</param>
/// <param name="Ranges">The runs to copy, in offset order, not overlapping. A run may read as zeroes now (it was cleared).</param>
public sealed record ChangeSet(int Pass, IReadOnlyList<ChangedRange> Ranges)
{
    /// <summary>The bytes the ranges cover.</summary>
    public long Bytes => Ranges.Sum(r => r.Length);
}

/// <summary>
/// Where replication learns what changed between passes: a dirty bitmap, a snapshot's own layer, or block hashes.
/// A change source may report more than changed (a superset is safe), never less.
/// </summary>
public interface IChangeSource : IAsyncDisposable
{
    /// <summary>A name for messages and state (a path, an NBD URI without secrets).</summary>
    string Name { get; }

    /// <summary>Size of the source disk in bytes.</summary>
    long Capacity { get; }

    /// <summary>
    /// The ranges to copy in pass <paramref name="pass"/>: for pass 0 every range that holds data, later every range
    /// that may have changed since the previous pass was taken. Call passes in order; a pass that was not committed
    /// can be asked for again.
    /// </summary>
    Task<ChangeSet> GetChangesAsync(int pass, CancellationToken cancellationToken = default);

    /// <summary>Reads the source's content for the pass last asked for.</summary>
    ValueTask ReadAsync(long offset, Memory<byte> buffer, CancellationToken cancellationToken = default);

    /// <summary>The pass's ranges reached the target (written and flushed): the source moves its baseline forward.</summary>
    Task CommitAsync(ChangeSet changes, CancellationToken cancellationToken = default);
}
