namespace Whitesky.Migrate.Copy;

/// <summary>How <see cref="RawFileCopier"/> copies.</summary>
internal sealed record RawFileCopyOptions
{
    /// <summary>
    /// The default largest WRITE. Measured with benchmarks/compare/nbd-copy.sh on 2 cores: 1 and 2 MiB tie on plain
    /// copies, 2 MiB is fastest over TLS-PSK, and 256 KiB (more requests) and 4 MiB (fewer buffers in flight) are slower.
    /// </summary>
    public const int DefaultRequestSize = 2 * 1024 * 1024;

    /// <summary>Buffer memory one copy may hold; together with the request size it bounds the data requests in flight.</summary>
    public const long DefaultBufferMemory = 64L * 1024 * 1024;

    /// <summary>Largest WRITE in bytes; null for min(export maximum payload, <see cref="DefaultRequestSize"/>).</summary>
    public long? RequestSize { get; init; }

    /// <summary>Requests in flight over all connections.</summary>
    public int MaxRequestsInFlight { get; init; } = 64;

    /// <summary>Memory for data buffers in flight.</summary>
    public long BufferMemory { get; init; } = DefaultBufferMemory;

    /// <summary>Zero detection granularity: whole blocks of this size (at least the export's minimum block size) that are all zero are not sent as data.</summary>
    public int ZeroBlockSize { get; init; } = 4096;

    /// <summary>Send one FLUSH once every write completed.</summary>
    public bool Flush { get; init; }
}
