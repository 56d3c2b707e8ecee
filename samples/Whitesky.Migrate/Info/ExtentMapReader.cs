using Whitesky.Nbd;

namespace Whitesky.Migrate.Info;

/// <summary>Reads the extent map of one meta context over a whole export, merging adjacent runs with equal flags.</summary>
internal static class ExtentMapReader
{
    public static async Task<IReadOnlyList<ExtentMapEntry>> ReadAsync(NbdClient client, string context, CancellationToken cancellationToken)
    {
        var merged = new List<ExtentMapEntry>();
        long runStart = 0;
        long runLength = 0;
        uint runType = 0;
        await foreach (var extent in client.GetExtentsAsync(context, 0, client.Export.Size, cancellationToken))
        {
            if (runLength > 0 && extent.Flags == runType && runStart + runLength == extent.Offset)
            {
                runLength += extent.Length;
            }
            else
            {
                Flush();
                (runStart, runLength, runType) = (extent.Offset, extent.Length, extent.Flags);
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
