using System.Runtime.InteropServices;
using Microsoft.Win32.SafeHandles;

namespace Whitesky.Migrate.Copy;

/// <summary><c>lseek(2)</c> with <c>SEEK_DATA</c> / <c>SEEK_HOLE</c> (Linux values), which .NET does not expose.</summary>
internal static partial class LinuxFileSeek
{
    private const int SeekData = 3;
    private const int SeekHole = 4;
    private const int ENXIO = 6;

    /// <summary>Whether the platform has these whence values with the Linux numbering.</summary>
    public static bool IsAvailable => OperatingSystem.IsLinux();

    /// <summary>The start of the next data at or after <paramref name="offset"/>, or null when only a hole follows.</summary>
    /// <exception cref="NotSupportedException">The file system cannot tell data from holes.</exception>
    public static long? NextData(SafeFileHandle file, long offset)
    {
        var result = Seek(file, offset, SeekData);
        if (result >= 0)
        {
            return result;
        }

        var errno = Marshal.GetLastPInvokeError();
        return errno == ENXIO ? null : throw new NotSupportedException($"lseek(SEEK_DATA) failed with errno {errno}.");
    }

    /// <summary>The start of the next hole at or after <paramref name="offset"/> (the end of the file counts as one).</summary>
    /// <exception cref="NotSupportedException">The file system cannot tell data from holes.</exception>
    public static long NextHole(SafeFileHandle file, long offset)
    {
        var result = Seek(file, offset, SeekHole);
        return result >= 0 ? result : throw new NotSupportedException($"lseek(SEEK_HOLE) failed with errno {Marshal.GetLastPInvokeError()}.");
    }

    [LibraryImport("libc", EntryPoint = "lseek", SetLastError = true)]
    private static partial long Seek(SafeFileHandle file, long offset, int whence);
}
