namespace Whitesky.Nbd.Server;

/// <summary>
/// What an <see cref="NbdServer"/> export serves: a block device of <see cref="Size"/> bytes. One instance
/// is shared by every connection to the export, so its methods are called concurrently; a
/// <see cref="FlushAsync"/> must make durable every write that completed before it, whichever connection
/// sent it (that is what <c>CAN_MULTI_CONN</c> promises clients).
/// </summary>
/// <remarks>
/// Throw <see cref="NbdBackendException"/> to answer a request with a specific NBD error; any other
/// <see cref="IOException"/> is answered with <see cref="NbdError.EIO"/> (or <see cref="NbdError.ENOSPC"/>
/// when the disk is full). Defaults: TRIM does nothing, WRITE_ZEROES writes zero buffers, CACHE does
/// nothing, and the whole disk is reported as data.
/// </remarks>
public abstract class NbdBackend : IAsyncDisposable
{
    /// <summary>Size of the device in bytes.</summary>
    public abstract long Size { get; }

    /// <summary>Whether writes are refused (the export is then advertised read-only).</summary>
    public virtual bool IsReadOnly => false;

    /// <summary>Whether <see cref="TrimAsync"/> really discards (advertised as <c>NBD_FLAG_SEND_TRIM</c>).</summary>
    public virtual bool CanTrim => false;

    /// <summary>Whether zeroing can be fast (punching holes, or a sparse store); <c>NBD_FLAG_SEND_FAST_ZERO</c>.</summary>
    public virtual bool CanFastZero => false;

    /// <summary>Whether <see cref="FlushAsync"/> does something (advertised as <c>NBD_FLAG_SEND_FLUSH</c> and <c>SEND_FUA</c>).</summary>
    public virtual bool CanFlush => false;

    /// <summary>Whether <see cref="GetAllocationAsync"/> knows holes and zeroes (otherwise everything is reported as data).</summary>
    public virtual bool CanReportAllocation => false;

    /// <summary>The smallest unit the backend can address; requests must be aligned to it. Default 1.</summary>
    public virtual int MinimumBlockSize => 1;

    /// <summary>The block size the backend prefers. Default 4096.</summary>
    public virtual int PreferredBlockSize => 4096;

    /// <summary>Reads <paramref name="buffer"/>.Length bytes at <paramref name="offset"/> (always inside the device).</summary>
    public abstract ValueTask ReadAsync(long offset, Memory<byte> buffer, CancellationToken cancellationToken);

    /// <summary>Writes <paramref name="data"/> at <paramref name="offset"/>; with <paramref name="fua"/> it is durable on return.</summary>
    public abstract ValueTask WriteAsync(long offset, ReadOnlyMemory<byte> data, bool fua, CancellationToken cancellationToken);

    /// <summary>
    /// Makes the range read as zeroes. <paramref name="mayPunchHole"/> is false for <c>NBD_CMD_FLAG_NO_HOLE</c>;
    /// with <paramref name="fastOnly"/> (<c>FAST_ZERO</c>) the backend must throw
    /// <see cref="NbdBackendException"/> with <see cref="NbdError.ENOTSUP"/> instead of doing slow work.
    /// </summary>
    public virtual async ValueTask WriteZeroesAsync(long offset, long length, bool mayPunchHole, bool fastOnly, bool fua, CancellationToken cancellationToken)
    {
        if (fastOnly)
        {
            throw new NbdBackendException(NbdError.ENOTSUP, "this backend cannot zero quickly");
        }

        var zeroes = new byte[(int)Math.Min(length, 1024 * 1024)];
        for (long done = 0; done < length; done += zeroes.Length)
        {
            var part = (int)Math.Min(zeroes.Length, length - done);
            await WriteAsync(offset + done, zeroes.AsMemory(0, part), fua: false, cancellationToken).ConfigureAwait(false);
        }

        if (fua)
        {
            await FlushAsync(cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>Discards the range (a hint: contents become unspecified). Default: nothing.</summary>
    public virtual ValueTask TrimAsync(long offset, long length, bool fua, CancellationToken cancellationToken) => ValueTask.CompletedTask;

    /// <summary>Makes every completed write durable. Default: nothing.</summary>
    public virtual ValueTask FlushAsync(CancellationToken cancellationToken) => ValueTask.CompletedTask;

    /// <summary>Prefetches the range. Default: nothing.</summary>
    public virtual ValueTask CacheAsync(long offset, long length, CancellationToken cancellationToken) => ValueTask.CompletedTask;

    /// <summary>
    /// The allocation of [offset, offset + length) as consecutive extents starting at <paramref name="offset"/>
    /// with <c>base:allocation</c> flags (<see cref="NbdExtent.HoleFlag"/>, <see cref="NbdExtent.ZeroFlag"/>). It may
    /// stop early (the client asks again); it must cover at least one byte. Default: one data extent.
    /// </summary>
    public virtual ValueTask<IReadOnlyList<NbdExtent>> GetAllocationAsync(long offset, long length, CancellationToken cancellationToken) =>
        ValueTask.FromResult<IReadOnlyList<NbdExtent>>([new NbdExtent(offset, length, 0)]);

    /// <inheritdoc />
    public virtual ValueTask DisposeAsync()
    {
        GC.SuppressFinalize(this);
        return ValueTask.CompletedTask;
    }
}

/// <summary>Thrown by a backend to answer a request with a specific NBD error.</summary>
public class NbdBackendException : NbdException
{
    /// <summary>Creates the exception.</summary>
    public NbdBackendException(NbdError error, string message) : base(message) => BackendError = error;

    /// <summary>The error sent to the client.</summary>
    public NbdError BackendError { get; }
}
