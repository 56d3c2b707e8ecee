using System.Security.Cryptography;
using Whitesky.DiskFormats.Containers;

namespace Whitesky.DiskFormats.Tests.Containers;

/// <summary>Hashes what a sequential disk decodes (gaps as zeroes) and counts its data bytes.</summary>
internal static class SequentialContent
{
    public static async Task<(string Sha256, long DataBytes, int Chunks)> HashAsync(ISequentialDisk disk)
    {
        using var sha = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        var zeroes = new byte[1 << 20];
        long position = 0, data = 0;
        var chunks = 0;
        void Zeroes(long until)
        {
            while (position < until)
            {
                var n = (int)Math.Min(zeroes.Length, until - position);
                sha.AppendData(zeroes, 0, n);
                position += n;
            }
        }

        await foreach (var chunk in disk.ReadChunksAsync())
        {
            Assert.True(chunk.Offset >= position, $"chunk at {chunk.Offset} overlaps or is out of order (position {position})");
            Assert.True(chunk.End <= disk.Capacity);
            Zeroes(chunk.Offset);
            if (chunk.Kind == DiskChunkKind.Data)
            {
                sha.AppendData(chunk.Data.Span);
                data += chunk.Length;
            }
            else
            {
                var end = chunk.End;
                Zeroes(end);
            }

            position = chunk.End;
            chunks++;
        }

        Zeroes(disk.Capacity);
        return (Convert.ToHexString(sha.GetHashAndReset()), data, chunks);
    }

    public static async Task<List<(string Name, string Sha256, long Capacity, string Format)>> ReadAllAsync(SequentialArchive archive)
    {
        var disks = new List<(string, string, long, string)>();
        await foreach (var disk in archive.ReadDisksAsync())
        {
            var (hash, _, _) = await HashAsync(disk);
            disks.Add((disk.Name, hash, disk.Capacity, disk.Describe().Format));
        }

        return disks;
    }
}
