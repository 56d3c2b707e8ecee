using Whitesky.Nbd;

namespace Whitesky.Migrate.Info;

/// <summary>Reads the extent map of one meta context over a whole export, merging adjacent runs with equal flags.</summary>
internal static class ExtentMapReader
{
    public static async Task<IReadOnlyList<ExtentMapEntry>> ReadAsync(NbdClient client, string context, CancellationToken cancellationToken)
    {
        var size = client.Export.Size;
        var merged = new List<ExtentMapEntry>();
        long offset = 0;
        long runStart = 0;
        long runLength = 0;
        uint runType = 0;
        while (offset < size)
        {
            var status = await client.BlockStatusAsync(offset, size - offset, cancellationToken: cancellationToken);
            foreach (var extent in status[context])
            {
                var length = Math.Min(extent.Length, size - extent.Offset);
                if (runLength > 0 && extent.Flags == runType && runStart + runLength == extent.Offset)
                {
                    runLength += length;
                }
                else
                {
                    Flush();
                    (runStart, runLength, runType) = (extent.Offset, length, extent.Flags);
                }

                offset = extent.Offset + length;
            }
        }

        Flush();
        return merged;

        void Flush()
        {
            if (runLength > 0)
            {
                merged.Add(new ExtentMapEntry(runStart, runLength, runType, ExtentTypeNames.Describe(context, runType)));
            }
        }
    }
}
