using System.Globalization;

namespace Whitesky.Nbd.Client;

/// <summary>
/// A request sent and not yet answered. The reader thread fills it from reply chunks; the caller awaits
/// <see cref="Task"/>. Once <see cref="Abandon"/> ran (cancellation, timeout), nothing more is copied into
/// the caller's buffer, so a caller that returned may reuse it.
/// </summary>
internal sealed class NbdPendingRequest
{
    private readonly TaskCompletionSource<NbdBlockStatus?> _completion = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private List<(long Start, long End)>? _readRanges;
    private long _readBytes;
    private Dictionary<string, IReadOnlyList<NbdExtent>>? _extents;
    private readonly Lock _gate = new();
    private bool _abandoned;

    public NbdPendingRequest(NbdCommand command, NbdCommandFlags flags, long offset, uint length, Memory<byte> readBuffer)
    {
        Command = command;
        Flags = flags;
        Offset = offset;
        Length = length;
        ReadBuffer = readBuffer;
    }

    public ulong Cookie { get; set; }

    public NbdCommand Command { get; }

    public NbdCommandFlags Flags { get; }

    public long Offset { get; }

    public uint Length { get; }

    public Memory<byte> ReadBuffer { get; }

    /// <summary>Whether the request was sent completely (so the server will answer it).</summary>
    public bool Sent { get; set; }

    /// <summary>The first error chunk or simple error reply for this request.</summary>
    public NbdException? Error { get; set; }

    public Task<NbdBlockStatus?> Task => _completion.Task;

    public string Describe() => string.Create(CultureInfo.InvariantCulture,
        $"{NbdException.CommandName(Command)} at offset {Offset} length {Length}");

    /// <summary>Copies reply payload into the caller's buffer unless the caller has gone.</summary>
    public void CopyIntoBuffer(ReadOnlySpan<byte> data, int bufferOffset)
    {
        lock (_gate)
        {
            if (!_abandoned)
            {
                data.CopyTo(ReadBuffer.Span[bufferOffset..]);
            }
        }
    }

    public void ZeroBuffer(int bufferOffset, int length)
    {
        lock (_gate)
        {
            if (!_abandoned)
            {
                ReadBuffer.Span.Slice(bufferOffset, length).Clear();
            }
        }
    }

    /// <summary>
    /// Records that bytes [start, end) of the request are being answered (data or hole). False when that
    /// cannot be part of an exact cover: more bytes than the request has (so chunks overlap), or more chunks
    /// than any server needs (one per 512 bytes, at least 1024), which bounds what a hostile server can make us keep.
    /// </summary>
    public bool TryAddReadRange(long start, long end)
    {
        var count = _readRanges?.Count ?? 0;
        if (_readBytes + (end - start) > Length || count >= Math.Max(1024, Length / 512))
        {
            return false;
        }

        _readBytes += end - start;
        (_readRanges ??= new List<(long, long)>(1)).Add((start, end));
        return true;
    }

    /// <summary>Whether the read chunks cover the request exactly once.</summary>
    public bool ReadCoverageIsExact()
    {
        if (_readRanges is null)
        {
            return Length == 0;
        }

        if (_readRanges.Count > 1)
        {
            _readRanges.Sort(static (a, b) => a.Start.CompareTo(b.Start));
        }

        long next = 0;
        foreach (var (start, end) in _readRanges)
        {
            if (start != next)
            {
                return false;
            }

            next = end;
        }

        return next == Length;
    }

    public bool HasExtents(string context) => _extents?.ContainsKey(context) == true;

    public void AddExtents(string context, IReadOnlyList<NbdExtent> extents) =>
        (_extents ??= new Dictionary<string, IReadOnlyList<NbdExtent>>(StringComparer.Ordinal))[context] = extents;

    public int ExtentContexts => _extents?.Count ?? 0;

    public void Succeed() => _completion.TrySetResult(
        Command == NbdCommand.BlockStatus ? new NbdBlockStatus(Offset, Length, _extents ?? []) : null);

    public void Fail(Exception exception) => _completion.TrySetException(exception);

    /// <summary>The caller stops waiting: no more copies into its buffer, and its task ends now.</summary>
    public void Abandon()
    {
        lock (_gate)
        {
            _abandoned = true;
        }

        _completion.TrySetCanceled();
    }
}
