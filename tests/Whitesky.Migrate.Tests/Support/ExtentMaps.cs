using System.Globalization;
using System.Text.Json;

namespace Whitesky.Migrate.Tests.Support;

/// <summary>Parses extent maps as nbdinfo --map prints them (text or JSON) and merges adjacent runs of equal type.</summary>
public static class ExtentMaps
{
    public readonly record struct Run(long Offset, long Length, uint Type, string? Description);

    public static IReadOnlyList<Run> ParseText(string text)
    {
        var runs = new List<Run>();
        foreach (var line in text.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            var parts = line.Split(' ', 4, StringSplitOptions.RemoveEmptyEntries);
            runs.Add(new Run(
                long.Parse(parts[0], CultureInfo.InvariantCulture),
                long.Parse(parts[1], CultureInfo.InvariantCulture),
                uint.Parse(parts[2], CultureInfo.InvariantCulture),
                parts.Length > 3 ? parts[3].Trim() : null));
        }

        return Merge(runs);
    }

    public static IReadOnlyList<Run> ParseJson(string json)
    {
        using var document = JsonDocument.Parse(json);
        var runs = document.RootElement.EnumerateArray().Select(e => new Run(
            e.GetProperty("offset").GetInt64(),
            e.GetProperty("length").GetInt64(),
            e.GetProperty("type").GetUInt32(),
            e.TryGetProperty("description", out var d) ? d.GetString() : null)).ToList();
        return Merge(runs);
    }

    public static IReadOnlyList<Run> Merge(IEnumerable<Run> runs)
    {
        var merged = new List<Run>();
        foreach (var run in runs)
        {
            if (merged.Count > 0 && merged[^1].Type == run.Type && merged[^1].Offset + merged[^1].Length == run.Offset)
            {
                merged[^1] = merged[^1] with { Length = merged[^1].Length + run.Length };
            }
            else
            {
                merged.Add(run);
            }
        }

        return merged;
    }
}
