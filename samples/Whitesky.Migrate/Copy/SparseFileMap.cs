using Microsoft.Extensions.Logging;
using Microsoft.Win32.SafeHandles;

namespace Whitesky.Migrate.Copy;

/// <summary>
/// The data and hole extents of a file, found with <c>SEEK_DATA</c>/<c>SEEK_HOLE</c> (the whole file is
/// data where the file system cannot tell). Data extents are widened to <c>alignment</c> so every
/// request the copy makes is aligned to the target's minimum block size.
/// </summary>
internal static class SparseFileMap
{
    /// <summary>Maps [0, <paramref name="length"/>) of the file; <paramref name="length"/> may run past the end of the file by less than one alignment unit.</summary>
    public static IReadOnlyList<FileExtent> Read(SafeFileHandle file, long fileSize, long length, int alignment, ILogger logger)
    {
        var data = FindData(file, fileSize, logger);
        var extents = new List<FileExtent>();
        long position = 0;
        foreach (var (start, end) in data)
        {
            var alignedStart = start / alignment * alignment;
            var alignedEnd = Math.Min(length, (end + alignment - 1) / alignment * alignment);
            if (alignedStart < position)
            {
                // Widening made this run touch the previous one: extend that instead.
                var last = extents[^1];
                extents[^1] = last with { Length = Math.Max(last.End, alignedEnd) - last.Offset };
                position = extents[^1].End;
                continue;
            }

            if (alignedStart > position)
            {
                extents.Add(new FileExtent(position, alignedStart - position, IsData: false));
            }

            extents.Add(new FileExtent(alignedStart, alignedEnd - alignedStart, IsData: true));
            position = alignedEnd;
        }

        if (position < length)
        {
            extents.Add(new FileExtent(position, length - position, IsData: false));
        }

        return extents;
    }

    private static List<(long Start, long End)> FindData(SafeFileHandle file, long fileSize, ILogger logger)
    {
        var runs = new List<(long Start, long End)>();
        if (fileSize == 0)
        {
            return runs;
        }

        if (!LinuxFileSeek.IsAvailable)
        {
            CopyLog.SparseMapUnavailable(logger, "this platform has no SEEK_DATA/SEEK_HOLE");
            runs.Add((0, fileSize));
            return runs;
        }

        try
        {
            long position = 0;
            while (position < fileSize)
            {
                var dataStart = LinuxFileSeek.NextData(file, position);
                if (dataStart is not { } start || start >= fileSize)
                {
                    break;
                }

                var end = Math.Min(fileSize, LinuxFileSeek.NextHole(file, start));
                runs.Add((start, end));
                position = end;
            }

            return runs;
        }
        catch (NotSupportedException ex)
        {
            CopyLog.SparseMapUnavailable(logger, ex.Message);
            runs.Clear();
            runs.Add((0, fileSize));
            return runs;
        }
    }
}
