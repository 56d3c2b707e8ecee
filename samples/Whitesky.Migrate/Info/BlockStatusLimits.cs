namespace Whitesky.Migrate.Info;

/// <summary>How much one BLOCK_STATUS request asks about.</summary>
internal static class BlockStatusLimits
{
    /// <summary>
    /// 2 GiB, as libnbd's tools ask: nbdkit 1.32 aborts (assertion <c>e.length &lt;= length</c>) when a
    /// request of nearly 4 GiB meets an extent that runs past it, killing the server. A power of two, so
    /// it stays aligned to any minimum block size.
    /// </summary>
    public const long MaxRequestLength = 1L << 31;
}
