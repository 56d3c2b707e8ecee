using System.Globalization;

namespace Whitesky.Migration.Ovf;

/// <summary>
/// DSP0004 programmatic units as OVF writers use them for capacities and memory: <c>byte</c>,
/// <c>byte * 2^30</c>, <c>byte*2^20</c>, <c>byte * 10^9</c>, <c>byte * 1024</c>, and the older names
/// (<c>MegaBytes</c>, <c>KB</c>, ...).
/// </summary>
internal static class OvfUnits
{
    /// <summary>The number of bytes one unit stands for; null when the unit is not understood.</summary>
    public static long? BytesPerUnit(string? unit, long defaultBytes)
    {
        if (string.IsNullOrWhiteSpace(unit))
        {
            return defaultBytes;
        }

        var compact = unit.Replace(" ", "", StringComparison.Ordinal).ToUpperInvariant();
        switch (compact)
        {
            case "BYTE" or "BYTES" or "B":
                return 1;
            case "KILOBYTE" or "KILOBYTES" or "KB" or "KIB":
                return 1L << 10;
            case "MEGABYTE" or "MEGABYTES" or "MB" or "MIB":
                return 1L << 20;
            case "GIGABYTE" or "GIGABYTES" or "GB" or "GIB":
                return 1L << 30;
            case "TERABYTE" or "TERABYTES" or "TB" or "TIB":
                return 1L << 40;
        }

        var factors = compact.Split('*');
        if (factors[0] is not ("BYTE" or "BYTES"))
        {
            return null;
        }

        long result = 1;
        foreach (var factor in factors.AsSpan(1))
        {
            long value;
            var caret = factor.IndexOf('^', StringComparison.Ordinal);
            if (caret > 0)
            {
                if (!int.TryParse(factor.AsSpan(0, caret), NumberStyles.None, CultureInfo.InvariantCulture, out var b) ||
                    !int.TryParse(factor.AsSpan(caret + 1), NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var e) ||
                    b < 2 || e < 0 || e > 62)
                {
                    return null;
                }

                value = 1;
                for (var i = 0; i < e; i++)
                {
                    if (value > OvfConstants.MaxBytes / b)
                    {
                        return null;
                    }

                    value *= b;
                }
            }
            else if (!long.TryParse(factor, NumberStyles.None, CultureInfo.InvariantCulture, out value) || value == 0)
            {
                return null;
            }

            if (result > OvfConstants.MaxBytes / value)
            {
                return null;
            }

            result *= value;
        }

        return result;
    }

    /// <summary><paramref name="quantity"/> units of <paramref name="unit"/> in bytes; throws for anything not a plain bounded number.</summary>
    public static long ToBytes(string quantity, string? unit, long defaultBytes, string file, string where)
    {
        if (!long.TryParse(quantity.Trim(), NumberStyles.None, CultureInfo.InvariantCulture, out var count))
        {
            throw new OvfException(file, where, $"'{Clip(quantity)}' is not a whole number (property references such as ${{name}} are not supported)");
        }

        var perUnit = BytesPerUnit(unit, defaultBytes)
            ?? throw new OvfException(file, where, $"the unit '{Clip(unit)}' is not understood (expected forms like 'byte * 2^30')");
        if (count > OvfConstants.MaxBytes / perUnit)
        {
            throw new OvfException(file, where, $"{count} × {perUnit} bytes is larger than the {OvfConstants.MaxBytes} bytes accepted");
        }

        return count * perUnit;
    }

    public static string Clip(string? text) => text is null ? "" : text.Length <= 64 ? text : string.Concat(text.AsSpan(0, 64), "...");
}
