using System.Runtime.InteropServices;
using Microsoft.Win32.SafeHandles;

namespace Whitesky.DiskFormats.Raw;

/// <summary>Where a file has data and holes, from <c>lseek(SEEK_DATA / SEEK_HOLE)</c> (Linux).</summary>
internal static partial class FileAllocation
{
    private const int SEEK_DATA = 3;
    private const int SEEK_HOLE = 4;
    private const int ENXIO = 6;

    /// <summary>
    /// The next data run at or after <paramref name="offset"/>: (start, end), or null when only a hole follows.
    /// Returns (offset, length) — all data — where the file system cannot tell.
    /// </summary>
    public static (long Start, long End)? NextData(SafeFileHandle handle, long offset, long length)
    {
        if (!OperatingSystem.IsLinux())
        {
            return (offset, length);
        }

        var success = false;
        handle.DangerousAddRef(ref success);
        try
        {
            var fd = (int)handle.DangerousGetHandle();
            var start = lseek(fd, offset, SEEK_DATA);
            if (start < 0)
            {
                var errno = Marshal.GetLastPInvokeError();
                return errno == ENXIO ? null : (offset, length);
            }

            if (start >= length)
            {
                return null;
            }

            var end = lseek(fd, start, SEEK_HOLE);
            return end < 0 ? (start, length) : (start, Math.Min(end, length));
        }
        finally
        {
            if (success)
            {
                handle.DangerousRelease();
            }
        }
    }

    /// <summary>
    /// [<paramref name="start"/>, <paramref name="end"/>) cut into data runs and holes, in order, from a
    /// <paramref name="nextData"/> lookup (<see cref="NextData"/> of a file, or a sparse source's map).
    /// </summary>
    public static IEnumerable<(long Start, long End, bool IsData)> Runs(Func<long, (long Start, long End)?> nextData, long start, long end)
    {
        var position = start;
        while (position < end)
        {
            var data = nextData(position);
            if (data is not { } run || run.Start >= end)
            {
                yield return (position, end, false);
                yield break;
            }

            if (run.Start > position)
            {
                yield return (position, run.Start, false);
            }

            var from = Math.Max(run.Start, position);
            var to = Math.Min(run.End, end);
            yield return (from, to, true);
            position = to;
        }
    }

    [LibraryImport("libc", SetLastError = true)]
    private static partial long lseek(int fd, long offset, int whence);
}
