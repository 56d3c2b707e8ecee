namespace Whitesky.Migration.Transfer;

/// <summary>A set of byte ranges kept merged and sorted; safe for concurrent use.</summary>
internal sealed class RangeSet
{
    private readonly Lock _lock = new();
    private readonly SortedList<long, long> _ranges = [];

    public RangeSet(IEnumerable<TransferRange>? ranges = null)
    {
        foreach (var range in ranges ?? [])
        {
            Add(range.Offset, range.Length);
        }
    }

    public long TotalBytes
    {
        get
        {
            lock (_lock)
            {
                return _ranges.Values.Sum();
            }
        }
    }

    public void Add(long offset, long length)
    {
        if (length <= 0)
        {
            return;
        }

        lock (_lock)
        {
            var start = offset;
            var end = offset + length;

            // Merge with every range that overlaps or touches [start, end).
            var index = LowerBound(start);
            if (index > 0 && _ranges.Keys[index - 1] + _ranges.Values[index - 1] >= start)
            {
                index--;
            }

            while (index < _ranges.Count && _ranges.Keys[index] <= end)
            {
                start = Math.Min(start, _ranges.Keys[index]);
                end = Math.Max(end, _ranges.Keys[index] + _ranges.Values[index]);
                _ranges.RemoveAt(index);
            }

            _ranges.Add(start, end - start);
        }
    }

    public IReadOnlyList<TransferRange> Snapshot()
    {
        lock (_lock)
        {
            return [.. _ranges.Select(p => new TransferRange(p.Key, p.Value))];
        }
    }

    /// <summary>The parts of [offset, offset + length) not in the set, in order.</summary>
    public List<TransferRange> Missing(long offset, long length)
    {
        var missing = new List<TransferRange>();
        var end = offset + length;
        lock (_lock)
        {
            var position = offset;
            var index = LowerBound(offset);
            if (index > 0)
            {
                index--;
            }

            for (; index < _ranges.Count && position < end; index++)
            {
                var rangeStart = _ranges.Keys[index];
                var rangeEnd = rangeStart + _ranges.Values[index];
                if (rangeEnd <= position)
                {
                    continue;
                }

                if (rangeStart >= end)
                {
                    break;
                }

                if (rangeStart > position)
                {
                    missing.Add(new TransferRange(position, rangeStart - position));
                }

                position = Math.Max(position, rangeEnd);
            }

            if (position < end)
            {
                missing.Add(new TransferRange(position, end - position));
            }
        }

        return missing;
    }

    /// <summary>The index of the first range starting at or after <paramref name="offset"/>.</summary>
    private int LowerBound(long offset)
    {
        var keys = _ranges.Keys;
        int low = 0, high = keys.Count;
        while (low < high)
        {
            var middle = (low + high) / 2;
            if (keys[middle] < offset)
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
}
