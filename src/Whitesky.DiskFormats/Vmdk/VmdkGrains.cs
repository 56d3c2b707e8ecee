using System.Globalization;
using System.IO.Compression;

namespace Whitesky.DiskFormats.Vmdk;

/// <summary>What the sparse-extent reader and the stream reader share about compressed grains.</summary>
internal static class VmdkGrains
{
    /// <summary>
    /// Inflates one grain's zlib stream into <paramref name="output"/> (one grain long) and returns the bytes produced;
    /// more output than that is a bomb, a broken stream a <see cref="DiskFormatException"/> naming the grain's offset.
    /// </summary>
    public static int Inflate(string image, ReadOnlyMemory<byte> input, Span<byte> output, long offset)
    {
        try
        {
            using var source = new ReadOnlyMemoryStream(input);
            using var stream = new ZLibStream(source, CompressionMode.Decompress);
            var produced = 0;
            while (produced < output.Length)
            {
                var n = stream.Read(output[produced..]);
                if (n == 0)
                {
                    return produced;
                }

                produced += n;
            }

            Span<byte> probe = stackalloc byte[1];
            if (stream.Read(probe) != 0)
            {
                throw new DiskFormatException(image, "compressed grain", offset, $"it inflates to more than a grain ({output.Length} bytes)");
            }

            return produced;
        }
        catch (InvalidDataException e)
        {
            throw new DiskFormatException(string.Create(CultureInfo.InvariantCulture, $"{image}: compressed grain at offset {offset}: it is not a valid zlib stream ({e.Message})"), e);
        }
    }
}
