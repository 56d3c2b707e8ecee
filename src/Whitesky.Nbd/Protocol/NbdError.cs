namespace Whitesky.Nbd;

/// <summary>Error values an NBD server returns in replies (<c>NBD_E*</c>, errno-like).</summary>
public enum NbdError : uint
{
    /// <summary>Success.</summary>
    None = 0,
    /// <summary><c>NBD_EPERM</c>: operation not permitted (for example a write to a read-only export).</summary>
    EPERM = 1,
    /// <summary><c>NBD_EIO</c>: input/output error.</summary>
    EIO = 5,
    /// <summary><c>NBD_ENOMEM</c>: the server ran out of memory.</summary>
    ENOMEM = 12,
    /// <summary><c>NBD_EINVAL</c>: invalid argument (misaligned, past the end, bad flags).</summary>
    EINVAL = 22,
    /// <summary><c>NBD_ENOSPC</c>: no space left on the target.</summary>
    ENOSPC = 28,
    /// <summary><c>NBD_EOVERFLOW</c>: value too large (a request the server cannot answer in one reply).</summary>
    EOVERFLOW = 75,
    /// <summary><c>NBD_ENOTSUP</c>: not supported (a <c>FAST_ZERO</c> that would be slow, for example).</summary>
    ENOTSUP = 95,
    /// <summary><c>NBD_ESHUTDOWN</c>: the server is shutting down.</summary>
    ESHUTDOWN = 108,
}
