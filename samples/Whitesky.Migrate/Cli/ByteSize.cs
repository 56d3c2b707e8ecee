using System.Globalization;

namespace Whitesky.Migrate.Cli;

/// <summary>Byte counts as people write them: 64M, 1.5G, 512 (powers of 1024, like nbdinfo and qemu-img).</summary>
internal static class ByteSize
{
    private static readonly string[] Units = ["", "K", "M", "G", "T", "P", "E"];

    public static string Format(long bytes)
    {
        double value = bytes;
        var unit = 0;
        while (value >= 1024 && unit < Units.Length - 1)
        {
            value /= 1024;
            unit++;
        }

        return string.Create(CultureInfo.InvariantCulture, $"{value:0.#}{Units[unit]}");
    }

    /// <summary>Parses "2097152", "2M", "2MiB", "256k"; false when the text is not a size or overflows.</summary>
    public static bool TryParse(string text, out long bytes)
    {
        bytes = 0;
        var trimmed = text.Trim();
        if (trimmed.EndsWith("iB", StringComparison.OrdinalIgnoreCase))
        {
            trimmed = trimmed[..^2];
        }
        else if (trimmed.EndsWith('B') || trimmed.EndsWith('b'))
        {
            trimmed = trimmed[..^1];
        }

        var shift = 0;
        if (trimmed.Length > 0 && char.IsLetter(trimmed[^1]))
        {
            shift = char.ToUpperInvariant(trimmed[^1]) switch
            {
                'K' => 10,
                'M' => 20,
                'G' => 30,
                'T' => 40,
                _ => -1,
            };
            trimmed = trimmed[..^1];
        }

        if (shift < 0 || !long.TryParse(trimmed, NumberStyles.None, CultureInfo.InvariantCulture, out var number))
        {
            return false;
        }

        if (number > (long.MaxValue >> shift))
        {
            return false;
        }

        bytes = number << shift;
        return true;
    }
}
