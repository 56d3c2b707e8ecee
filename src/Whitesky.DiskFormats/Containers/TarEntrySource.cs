namespace Whitesky.DiskFormats.Containers;

/// <summary>
/// One tar entry as a random-access source: a slice of the archive, or for a GNU sparse entry, its stored runs
/// placed at their offsets with zeroes between them.
/// </summary>
internal sealed class TarEntrySource(IRandomAccessSource archive, TarEntry entry) : ISparseSource
{
    public long Length => entry.Length;

    public string Name { get; } = archive.Name + "/" + entry.Name;

    public async ValueTask<int> ReadAsync(long offset, Memory<byte> buffer, CancellationToken cancellationToken = default)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(offset);
        if (offset >= entry.Length)
        {
            return 0;
        }

        var count = (int)Math.Min(buffer.Length, entry.Length - offset);
        buffer = buffer[..count];
        if (entry.SparseMap is not { } runs)
        {
            await ReadStoredAsync(entry.DataOffset + offset, buffer, cancellationToken).ConfigureAwait(false);
            return count;
        }

        // Runs are sorted; find the first that ends after offset, then fill runs and holes in turn.
        var (index, stored) = FindRun(runs, offset);
        var position = offset;
        while (position < offset + count)
        {
            var target = buffer[(int)(position - offset)..];
            if (index >= runs.Count || runs[index].Offset > position)
            {
                var holeEnd = index < runs.Count ? Math.Min(runs[index].Offset, offset + count) : offset + count;
                target.Span[..(int)(holeEnd - position)].Clear();
                position = holeEnd;
                continue;
            }

            var run = runs[index];
            var length = (int)Math.Min(run.End - position, offset + count - position);
            await ReadStoredAsync(entry.DataOffset + stored + (position - run.Offset), target[..length], cancellationToken).ConfigureAwait(false);
            position += length;
            stored += run.Length;
            index++;
        }

        return count;
    }

    public ValueTask DisposeAsync() => ValueTask.CompletedTask;

    public (long Start, long End)? NextData(long offset)
    {
        if (entry.SparseMap is not { } runs)
        {
            return offset < entry.Length ? (offset, entry.Length) : null;
        }

        var (index, _) = FindRun(runs, offset);
        return index < runs.Count ? (runs[index].Offset, runs[index].End) : null;
    }

    private async ValueTask ReadStoredAsync(long archiveOffset, Memory<byte> buffer, CancellationToken cancellationToken)
    {
        if (await archive.ReadAsync(archiveOffset, buffer, cancellationToken).ConfigureAwait(false) < buffer.Length)
        {
            throw new DiskFormatException(archive.Name, "tar entry", archiveOffset, $"the archive ends inside entry '{entry.Name}'");
        }
    }

    /// <summary>The index of the first run ending after <paramref name="offset"/> and the stored bytes before it.</summary>
    private (int Index, long Stored) FindRun(IReadOnlyList<TarSparseRun> runs, long offset)
    {
        var prefix = _prefix ??= BuildPrefix(runs);
        int low = 0, high = runs.Count;
        while (low < high)
        {
            var middle = (low + high) / 2;
            if (runs[middle].End <= offset)
            {
                low = middle + 1;
            }
            else
            {
                high = middle;
            }
        }

        return (low, prefix[low]);
    }

    private long[]? _prefix;

    private static long[] BuildPrefix(IReadOnlyList<TarSparseRun> runs)
    {
        var prefix = new long[runs.Count + 1];
        for (var i = 0; i < runs.Count; i++)
        {
            prefix[i + 1] = prefix[i] + runs[i].Length;
        }

        return prefix;
    }
}
