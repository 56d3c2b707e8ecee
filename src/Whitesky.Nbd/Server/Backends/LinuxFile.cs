using System.Runtime.InteropServices;
using Microsoft.Win32.SafeHandles;

namespace Whitesky.Nbd.Server;

/// <summary>
/// The Linux file calls .NET does not expose (<c>fallocate(2)</c>, <c>lseek(2)</c> with <c>SEEK_DATA</c> /
/// <c>SEEK_HOLE</c>, <c>fdatasync(2)</c>), their constants, and the errno values they fail with.
/// </summary>
/// <remarks>
/// <c>DllImport</c> rather than <c>LibraryImport</c>: every signature is blittable apart from the
/// <see cref="SafeFileHandle"/>, which the runtime marshaller add-refs for the duration of the call, and the
/// package does not compile unsafe code. <c>off_t</c> is 64 bits wide on every 64-bit Linux ABI; the
/// backends refuse 32-bit processes.
/// </remarks>
internal static class LinuxFile
{
    internal const int FALLOC_FL_KEEP_SIZE = 0x01;
    internal const int FALLOC_FL_PUNCH_HOLE = 0x02;
    internal const int FALLOC_FL_ZERO_RANGE = 0x10;

    internal const int SEEK_DATA = 3;
    internal const int SEEK_HOLE = 4;

    internal const int EPERM = 1;
    internal const int EINTR = 4;
    internal const int ENXIO = 6;
    internal const int ENOMEM = 12;
    internal const int EACCES = 13;
    internal const int ENODEV = 19;
    internal const int EINVAL = 22;
    internal const int EFBIG = 27;
    internal const int ENOSPC = 28;
    internal const int EROFS = 30;
    internal const int ENOSYS = 38;
    internal const int EOPNOTSUPP = 95;
    internal const int EDQUOT = 122;

    /// <summary>Whether the running process can use these calls.</summary>
    internal static bool IsSupported => OperatingSystem.IsLinux() && Environment.Is64BitProcess;

    /// <summary>
    /// <c>fallocate(fd, mode, offset, length)</c>, retried on <c>EINTR</c>. Returns 0 or the errno it failed with.
    /// </summary>
    internal static int Fallocate(SafeFileHandle file, int mode, long offset, long length)
    {
        while (true)
        {
            if (fallocate(file, mode, offset, length) == 0)
            {
                return 0;
            }

            var errno = Marshal.GetLastPInvokeError();
            if (errno != EINTR)
            {
                return errno;
            }
        }
    }

    /// <summary><c>fdatasync(fd)</c>, retried on <c>EINTR</c>. Returns 0 or the errno it failed with.</summary>
    internal static int Fdatasync(SafeFileHandle file)
    {
        while (true)
        {
            if (fdatasync(file) == 0)
            {
                return 0;
            }

            var errno = Marshal.GetLastPInvokeError();
            if (errno != EINTR)
            {
                return errno;
            }
        }
    }

    /// <summary>
    /// <c>lseek(fd, offset, whence)</c>. Returns the resulting offset, or -1 with <paramref name="errno"/> set.
    /// Only <c>SEEK_DATA</c> / <c>SEEK_HOLE</c> are used, and all I/O is positional, so moving the shared file
    /// offset from several threads at once is harmless.
    /// </summary>
    internal static long Seek(SafeFileHandle file, long offset, int whence, out int errno)
    {
        var result = lseek(file, offset, whence);
        errno = result < 0 ? Marshal.GetLastPInvokeError() : 0;
        return result;
    }

    /// <summary>Whether an errno says the file system (or the kind of file) does not do this <c>fallocate</c> mode.</summary>
    internal static bool IsUnsupported(int errno) => errno is EOPNOTSUPP or ENOSYS or ENODEV;

    /// <summary>
    /// The NBD error for an errno: a full disk or quota (and a file grown past its limit) is <c>ENOSPC</c>, a
    /// read-only file system <c>EPERM</c>; anything unexpected is <c>EIO</c>.
    /// </summary>
    internal static NbdError ToNbdError(int errno) => errno switch
    {
        ENOSPC or EDQUOT or EFBIG => NbdError.ENOSPC,
        EPERM or EACCES or EROFS => NbdError.EPERM,
        EINVAL => NbdError.EINVAL,
        ENOMEM => NbdError.ENOMEM,
        EOPNOTSUPP => NbdError.ENOTSUP,
        _ => NbdError.EIO,
    };

    /// <summary>
    /// The errno behind an <see cref="IOException"/> that .NET raised for a failed system call: on Unix its
    /// <see cref="Exception.HResult"/> is the raw errno (a positive number), while .NET's own failures carry a
    /// negative <c>HRESULT</c>. Returns 0 when there is none.
    /// </summary>
    internal static int ErrnoOf(IOException exception) => exception.HResult is > 0 and < 4096 ? exception.HResult : 0;

    [DllImport("libc", SetLastError = true)]
    private static extern int fallocate(SafeFileHandle fd, int mode, long offset, long len);

    [DllImport("libc", SetLastError = true)]
    private static extern int fdatasync(SafeFileHandle fd);

    [DllImport("libc", SetLastError = true)]
    private static extern long lseek(SafeFileHandle fd, long offset, int whence);
}
