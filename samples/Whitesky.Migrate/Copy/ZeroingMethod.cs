namespace Whitesky.Migrate.Copy;

/// <summary>How the copy makes a range of the target read as zeroes.</summary>
internal enum ZeroingMethod
{
    /// <summary><c>WRITE_ZEROES</c> with <c>FAST_ZERO</c>; falls back to <see cref="WriteZeroes"/> when refused.</summary>
    FastWriteZeroes,

    /// <summary>Plain <c>WRITE_ZEROES</c>.</summary>
    WriteZeroes,

    /// <summary><c>WRITE</c> of zero-filled buffers, for targets without <c>WRITE_ZEROES</c>.</summary>
    ZeroBuffers,
}
