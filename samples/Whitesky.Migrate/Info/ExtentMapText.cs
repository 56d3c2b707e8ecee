using System.Globalization;
using System.Text;

namespace Whitesky.Migrate.Info;

/// <summary>Writes an extent map in the columns of <c>nbdinfo --map</c>: offset, length, type, description.</summary>
internal static class ExtentMapText
{
    public static async Task WriteAsync(TextWriter output, IReadOnlyList<ExtentMapEntry> extents)
    {
        var text = new StringBuilder();
        foreach (var extent in extents)
        {
            text.Append(CultureInfo.InvariantCulture, $"{extent.Offset,10}  {extent.Length,10}  {extent.Type,3}");
            if (extent.Description is not null)
            {
                text.Append("  ").Append(extent.Description);
            }

            text.Append('\n');
        }

        await output.WriteAsync(text.ToString());
    }
}
