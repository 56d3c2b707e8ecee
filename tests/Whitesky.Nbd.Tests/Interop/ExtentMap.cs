using System.Globalization;

namespace Whitesky.Nbd.Tests.Interop;

/// <summary>Extent maps from the SDK client and from <c>nbdinfo --map</c>, merged so they compare by content.</summary>
public static class ExtentMap
{
    /// <summary>The whole export's map of one context, from repeated BLOCK_STATUS calls.</summary>
    public static async Task<List<(long Offset, long Length, uint Flags)>> FromClientAsync(NbdClient client, string context)
    {
        var result = new List<(long Offset, long Length, uint Flags)>();
        long offset = 0;
        var size = client.Export.Size;
        while (offset < size)
        {
            var status = await client.BlockStatusAsync(offset, size - offset);
            var extents = status[context];
            Assert.NotEmpty(extents);
            Assert.Equal(offset, extents[0].Offset);
            foreach (var extent in extents)
            {
                Add(result, extent.Offset, extent.Length, extent.Flags);
            }

            offset = extents[^1].End;
        }

        return result;
    }

    /// <summary>Parses <c>nbdinfo --map</c> lines ("offset length type description").</summary>
    public static async Task<List<(long Offset, long Length, uint Flags)>> FromNbdinfoAsync(string uri, string? context = null)
    {
        var args = new List<string> { context is null ? "--map" : "--map=" + context, uri };
        var output = await Peers.ExternalTool.RunAsync("nbdinfo", args);
        var result = new List<(long Offset, long Length, uint Flags)>();
        foreach (var line in output.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            var parts = line.Split(' ', StringSplitOptions.RemoveEmptyEntries);
            Add(result,
                long.Parse(parts[0], CultureInfo.InvariantCulture),
                long.Parse(parts[1], CultureInfo.InvariantCulture),
                uint.Parse(parts[2], CultureInfo.InvariantCulture));
        }

        return result;
    }

    private static void Add(List<(long Offset, long Length, uint Flags)> map, long offset, long length, uint flags)
    {
        if (map.Count > 0 && map[^1].Flags == flags && map[^1].Offset + map[^1].Length == offset)
        {
            map[^1] = (map[^1].Offset, map[^1].Length + length, flags);
        }
        else
        {
            map.Add((offset, length, flags));
        }
    }
}
