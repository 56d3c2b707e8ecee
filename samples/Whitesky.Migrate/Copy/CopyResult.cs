namespace Whitesky.Migrate.Copy;

/// <summary>What a finished copy did.</summary>
/// <param name="DataBytes">Bytes sent as data.</param>
/// <param name="ZeroBytesWritten">Bytes of holes and zero blocks zeroed on the target.</param>
/// <param name="ZeroBytesSkipped">Bytes of holes and zero blocks skipped because the target already read as zero.</param>
/// <param name="Elapsed">Wall time from the first request to the last reply (FLUSH included).</param>
internal sealed record CopyResult(long DataBytes, long ZeroBytesWritten, long ZeroBytesSkipped, TimeSpan Elapsed)
{
    /// <summary>Data throughput in MiB/s.</summary>
    public double DataMebibytesPerSecond => Elapsed.TotalSeconds > 0 ? DataBytes / 1048576.0 / Elapsed.TotalSeconds : 0;
}
