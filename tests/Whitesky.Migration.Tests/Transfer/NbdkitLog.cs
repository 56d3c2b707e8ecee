using System.Globalization;
using System.Text.RegularExpressions;

namespace Whitesky.Migration.Tests.Transfer;

/// <summary>The requests nbdkit's log filter saw (<c>--filter=log logfile=FILE</c>).</summary>
internal static partial class NbdkitLog
{
    public sealed record Request(int Connection, string Command, long Offset, long Count);

    public static IReadOnlyList<Request> Parse(string path)
    {
        using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite);
        using var reader = new StreamReader(stream);
        return [.. reader.ReadToEnd().Split('\n')
            .Select(line => Pattern().Match(line))
            .Where(m => m.Success)
            .Select(m => new Request(
                int.Parse(m.Groups["conn"].Value, CultureInfo.InvariantCulture),
                m.Groups["cmd"].Value,
                m.Groups["offset"].Success ? Convert.ToInt64(m.Groups["offset"].Value, 16) : 0,
                m.Groups["count"].Success ? Convert.ToInt64(m.Groups["count"].Value, 16) : 0))];
    }

    [GeneratedRegex(@"connection=(?<conn>\d+) (?<cmd>[A-Z][a-z]+) id=\d+(?: offset=0x(?<offset>[0-9a-f]+))?(?: count=0x(?<count>[0-9a-f]+))?")]
    private static partial Regex Pattern();
}
