namespace Whitesky.Migrate.Copy;

/// <summary>Counters of a copy in progress, safe to read from another thread (progress) while it runs.</summary>
internal sealed class CopyStatistics
{
    private long _dataBytes;
    private long _zeroBytesWritten;
    private long _zeroBytesSkipped;
    private long _completedBytes;

    /// <summary>Bytes of the target the copy covers (the file size rounded up to the minimum block size).</summary>
    public long TotalBytes { get; set; }

    /// <summary>Bytes sent as data (WRITE).</summary>
    public long DataBytes => Volatile.Read(ref _dataBytes);

    /// <summary>Bytes of holes and zero blocks made zero on the target (WRITE_ZEROES or zero buffers).</summary>
    public long ZeroBytesWritten => Volatile.Read(ref _zeroBytesWritten);

    /// <summary>Bytes of holes and zero blocks not sent at all because the target already reads as zero.</summary>
    public long ZeroBytesSkipped => Volatile.Read(ref _zeroBytesSkipped);

    /// <summary>Bytes whose requests completed (or that needed none).</summary>
    public long CompletedBytes => Volatile.Read(ref _completedBytes);

    public void AddData(long bytes) => Interlocked.Add(ref _dataBytes, bytes);

    public void AddZeroWritten(long bytes) => Interlocked.Add(ref _zeroBytesWritten, bytes);

    public void AddZeroSkipped(long bytes) => Interlocked.Add(ref _zeroBytesSkipped, bytes);

    public void AddCompleted(long bytes) => Interlocked.Add(ref _completedBytes, bytes);
}
