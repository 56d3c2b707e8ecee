using System.Runtime.InteropServices;
using Microsoft.Win32.SafeHandles;

namespace Whitesky.DiskFormats;

/// <summary>
/// Reads what a file already has in the page cache on the caller's thread: <c>preadv2(RWF_NOWAIT)</c> (Linux) copies
/// cached bytes and stops, without blocking, at the first byte that would need the disk. The rest is read the
/// usual way (a thread-pool <see cref="RandomAccess"/> read), so a cold file keeps its parallel reads and a warm one
/// (just downloaded or converted) is read without a thread hop per request.
/// </summary>
internal static unsafe partial class CachedFileReads
{
    private const int RWF_NOWAIT = 0x00000008;
    private const int EINTR = 4;
    private const int EAGAIN = 11;

    /// <summary>
    /// Reads into <paramref name="buffer"/> from <paramref name="offset"/> as far as the page cache holds it.
    /// Returns the bytes read (the end of the file shortens it, see <paramref name="endOfFile"/>), or -1 when the
    /// kernel or file system cannot read without blocking at all (the caller stops asking).
    /// </summary>
    public static int Read(SafeFileHandle handle, long offset, Span<byte> buffer, out bool endOfFile)
    {
        endOfFile = false;
        var success = false;
        handle.DangerousAddRef(ref success);
        try
        {
            var fd = (int)handle.DangerousGetHandle();
            var total = 0;
            fixed (byte* start = buffer)
            {
                while (total < buffer.Length)
                {
                    var iov = new IoVector { Base = start + total, Length = (nuint)(buffer.Length - total) };
                    var read = preadv2(fd, &iov, 1, offset + total, RWF_NOWAIT);
                    if (read > 0)
                    {
                        total += (int)read;
                        continue;
                    }

                    if (read == 0)
                    {
                        endOfFile = true;
                        return total;
                    }

                    var errno = Marshal.GetLastPInvokeError();
                    if (errno == EINTR)
                    {
                        continue;
                    }

                    // EAGAIN: the next byte is not cached. EOPNOTSUPP, ENOSYS, EINVAL: no RWF_NOWAIT here at all.
                    return total == 0 && errno != EAGAIN ? -1 : total;
                }
            }

            return total;
        }
        finally
        {
            if (success)
            {
                handle.DangerousRelease();
            }
        }
    }

    [StructLayout(LayoutKind.Sequential)]
    private struct IoVector
    {
        public byte* Base;
        public nuint Length;
    }

    [LibraryImport("libc", SetLastError = true)]
    private static partial nint preadv2(int fd, IoVector* iov, int iovcnt, long offset, int flags);
}
