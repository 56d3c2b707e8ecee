using System.Globalization;
using System.Text;
using System.Text.RegularExpressions;

namespace Whitesky.DiskFormats.Vmdk;

/// <summary>One extent line of a descriptor: <c>ACCESS SECTORS TYPE ["file" [offset]]</c>.</summary>
internal sealed record VmdkExtentLine(string Access, long Sectors, string Type, string? FileName, long OffsetSectors, int Line);

/// <summary>The text descriptor of a VMDK (embedded in a sparse extent or a file of its own). Keys are case-insensitive.</summary>
internal sealed partial class VmdkDescriptor
{
    private VmdkDescriptor(Dictionary<string, string> values, List<VmdkExtentLine> extents)
    {
        Values = values;
        Extents = extents;
    }

    public IReadOnlyDictionary<string, string> Values { get; }

    public IReadOnlyList<VmdkExtentLine> Extents { get; }

    public string? CreateType => Values.GetValueOrDefault("createType");

    public string? ParentFileNameHint => Values.GetValueOrDefault("parentFileNameHint");

    public uint? Cid => ParseCid("CID");

    public uint? ParentCid => ParseCid("parentCID");

    /// <summary>Whether the start of a file is a text descriptor.</summary>
    public static bool LooksLikeDescriptor(ReadOnlySpan<byte> head)
    {
        var text = Encoding.Latin1.GetString(head[..Math.Min(head.Length, 256)]).TrimStart('\uFEFF', '\u00EF', '\u00BB', '\u00BF', ' ', '\t', '\r', '\n');
        return text.StartsWith("# Disk DescriptorFile", StringComparison.OrdinalIgnoreCase);
    }

    /// <summary>Parses descriptor bytes (NUL-padded when embedded).</summary>
    public static VmdkDescriptor Parse(ReadOnlySpan<byte> bytes, string image, long offset)
    {
        var nul = bytes.IndexOf((byte)0);
        if (nul >= 0)
        {
            bytes = bytes[..nul];
        }

        string text;
        try
        {
            text = new UTF8Encoding(false, throwOnInvalidBytes: true).GetString(bytes);
        }
        catch (DecoderFallbackException)
        {
            // Older descriptors are in the host's legacy code page (ddb.encoding); Latin-1 keeps every byte.
            text = Encoding.Latin1.GetString(bytes);
        }

        var values = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
        var extents = new List<VmdkExtentLine>();
        var lineNumber = 0;
        foreach (var raw in text.Split('\n'))
        {
            lineNumber++;
            var line = raw.Trim().TrimStart('\uFEFF');
            if (line.Length == 0 || line[0] == '#')
            {
                continue;
            }

            var extent = ExtentLine().Match(line);
            if (extent.Success)
            {
                if (extents.Count >= VmdkConstants.MaxExtents)
                {
                    throw new DiskFormatException(image, "descriptor", offset, $"more than {VmdkConstants.MaxExtents} extents");
                }

                if (!long.TryParse(extent.Groups["sectors"].Value, NumberStyles.None, CultureInfo.InvariantCulture, out var sectors) ||
                    sectors > long.MaxValue / VmdkConstants.SectorSize)
                {
                    throw new DiskFormatException(image, "descriptor", offset, $"line {lineNumber}: extent size '{extent.Groups["sectors"].Value}' is not a sector count");
                }

                long extentOffset = 0;
                if (extent.Groups["offset"].Success &&
                    (!long.TryParse(extent.Groups["offset"].Value, NumberStyles.None, CultureInfo.InvariantCulture, out extentOffset) ||
                     extentOffset > long.MaxValue / VmdkConstants.SectorSize))
                {
                    throw new DiskFormatException(image, "descriptor", offset, $"line {lineNumber}: extent offset '{extent.Groups["offset"].Value}' is not a sector number");
                }

                extents.Add(new VmdkExtentLine(
                    extent.Groups["access"].Value.ToUpperInvariant(),
                    sectors,
                    extent.Groups["type"].Value.ToUpperInvariant(),
                    extent.Groups["file"].Success ? extent.Groups["file"].Value : null,
                    extentOffset,
                    lineNumber));
                continue;
            }

            var equals = line.IndexOf('=', StringComparison.Ordinal);
            if (equals > 0)
            {
                var key = line[..equals].Trim();
                var value = line[(equals + 1)..].Trim();
                if (value.Length >= 2 && value[0] == '"' && value[^1] == '"')
                {
                    value = value[1..^1];
                }

                values[key] = value;
            }
        }

        return new VmdkDescriptor(values, extents);
    }

    private uint? ParseCid(string key) =>
        Values.TryGetValue(key, out var text) && uint.TryParse(text, NumberStyles.HexNumber, CultureInfo.InvariantCulture, out var cid) ? cid : null;

    [GeneratedRegex("""^(?<access>RW|RDONLY|NOACCESS)\s+(?<sectors>\d+)\s+(?<type>[A-Za-z]+)(?:\s+"(?<file>[^"]*)"(?:\s+(?<offset>\d+))?)?\s*$""", RegexOptions.IgnoreCase | RegexOptions.CultureInvariant)]
    private static partial Regex ExtentLine();
}
