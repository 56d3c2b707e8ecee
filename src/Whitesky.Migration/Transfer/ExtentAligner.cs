namespace Whitesky.Migration.Transfer;

/// <summary>
/// Turns a disk's extents into runs of data or zeroes aligned to the target's minimum block size: a block holding
/// any data is data, one rounding gives to neither side is zero, a gap in the map is copied as data. Adjacent runs
/// of the same kind are merged, so the output alternates.
/// </summary>
internal sealed class ExtentAligner
{
    private readonly long _alignment;
    private readonly long _total;
    private long _cursor;
    private long _rawEnd;
    private (long Start, long End, bool IsData)? _run;

    /// <param name="alignment">The target's minimum block size.</param>
    /// <param name="total">The capacity rounded up to <paramref name="alignment"/>: where the last run ends.</param>
    public ExtentAligner(long alignment, long total)
    {
        _alignment = alignment;
        _total = total;
    }

    /// <summary>Adds the next extent (in offset order); completed runs are appended to <paramref name="output"/>.</summary>
    public void Add(long offset, long end, bool isData, List<(long Offset, long Length, bool IsData)> output)
    {
        if (offset > _rawEnd)
        {
            Emit(Down(_rawEnd), Up(offset), true, output);
        }

        _rawEnd = Math.Max(_rawEnd, end);
        var start = isData ? Down(offset) : Up(offset);
        var stop = isData ? Up(end) : Down(end);
        if (end >= _total || stop > _total)
        {
            stop = _total;
        }

        start = Math.Max(start, _cursor);
        if (stop <= start)
        {
            return;
        }

        if (start > _cursor)
        {
            Emit(_cursor, start, false, output);
        }

        Emit(start, stop, isData, output);
    }

    /// <summary>Ends the map: whatever it did not cover up to the total is copied as data.</summary>
    public void Finish(long capacity, List<(long Offset, long Length, bool IsData)> output)
    {
        if (_rawEnd < capacity)
        {
            Emit(Down(_rawEnd), _total, true, output);
        }
        else if (_cursor < _total)
        {
            Emit(_cursor, _total, false, output);
        }

        if (_run is { } run)
        {
            output.Add((run.Start, run.End - run.Start, run.IsData));
            _run = null;
        }
    }

    private void Emit(long start, long end, bool isData, List<(long Offset, long Length, bool IsData)> output)
    {
        start = Math.Max(start, _cursor);
        if (end <= start)
        {
            return;
        }

        if (_run is { } run && run.IsData == isData && run.End == start)
        {
            _run = (run.Start, end, isData);
        }
        else
        {
            if (_run is { } previous)
            {
                output.Add((previous.Start, previous.End - previous.Start, previous.IsData));
            }

            _run = (start, end, isData);
        }

        _cursor = end;
    }

    private long Down(long value) => value / _alignment * _alignment;

    private long Up(long value) => Math.Min((value + _alignment - 1) / _alignment * _alignment, _total);
}
