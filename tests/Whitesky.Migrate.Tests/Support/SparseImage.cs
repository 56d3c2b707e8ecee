namespace Whitesky.Migrate.Tests.Support;

/// <summary>Builds sparse raw images at test time: a truncated file with random runs written at chosen offsets.</summary>
public static class SparseImage
{
    /// <summary>Creates a sparse file of <paramref name="size"/> bytes with random data (no zero byte) at each run. Returns the data bytes written.</summary>
    public static long Create(string path, long size, IEnumerable<(long Offset, int Length)> runs, int seed)
    {
        var random = new Random(seed);
        long written = 0;
        using var file = new FileStream(path, FileMode.Create, FileAccess.Write);
        file.SetLength(size);
        foreach (var (offset, length) in runs)
        {
            var data = new byte[length];
            random.NextBytes(data);
            for (var i = 0; i < data.Length; i++)
            {
                data[i] |= 1;
            }

            file.Position = offset;
            file.Write(data);
            written += length;
        }

        return written;
    }

    /// <summary>Writes explicit zeroes (allocated on disk, so they look like data to SEEK_DATA).</summary>
    public static void WriteAllocatedZeroes(string path, long offset, int length)
    {
        using var file = new FileStream(path, FileMode.Open, FileAccess.Write);
        file.Position = offset;
        file.Write(new byte[length]);
    }

    /// <summary>A file of random bytes, for filling a target with garbage first.</summary>
    public static void CreateRandom(string path, long size, int seed)
    {
        var random = new Random(seed);
        using var file = new FileStream(path, FileMode.Create, FileAccess.Write);
        var block = new byte[1 << 20];
        for (long done = 0; done < size; done += block.Length)
        {
            random.NextBytes(block);
            file.Write(block, 0, (int)Math.Min(block.Length, size - done));
        }
    }
}
