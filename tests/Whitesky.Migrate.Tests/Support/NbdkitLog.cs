using System.Globalization;
using System.Text.RegularExpressions;

namespace Whitesky.Migrate.Tests.Support;

/// <summary>Reads the requests a client made from nbdkit's log filter (<c>--filter=log logfile=FILE</c>).</summary>
public static partial class NbdkitLog
{
    public sealed record Request(int Connection, string Command, long Id, long Offset, long Count, bool Fast);

    /// <summary>A completed request, in the order the server finished them.</summary>
    public sealed record Reply(int Connection, string Command, long Id, string Result);

    public static IReadOnlyList<Request> Parse(string path) => ReadLines(path)
        .Select(line => RequestPattern().Match(line))
        .Where(m => m.Success)
        .Select(m => new Request(
            int.Parse(m.Groups["conn"].Value, CultureInfo.InvariantCulture),
            m.Groups["cmd"].Value,
            long.Parse(m.Groups["id"].Value, CultureInfo.InvariantCulture),
            m.Groups["offset"].Success ? Convert.ToInt64(m.Groups["offset"].Value, 16) : 0,
            m.Groups["count"].Success ? Convert.ToInt64(m.Groups["count"].Value, 16) : 0,
            m.Groups["fast"].Value == "1"))
        .ToList();

    public static IReadOnlyList<Reply> ParseReplies(string path) => ReadLines(path)
        .Select(line => ReplyPattern().Match(line))
        .Where(m => m.Success)
        .Select(m => new Reply(
            int.Parse(m.Groups["conn"].Value, CultureInfo.InvariantCulture),
            m.Groups["cmd"].Value,
            long.Parse(m.Groups["id"].Value, CultureInfo.InvariantCulture),
            m.Groups["result"].Value))
        .ToList();

    private static string[] ReadLines(string path)
    {
        // The log filter writes as requests finish; the server may still be flushing its last lines.
        using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite);
        using var reader = new StreamReader(stream);
        return reader.ReadToEnd().Split('\n');
    }

    [GeneratedRegex(@"connection=(?<conn>\d+) (?<cmd>[A-Z][a-z]+) id=(?<id>\d+)(?: offset=0x(?<offset>[0-9a-f]+))?(?: count=0x(?<count>[0-9a-f]+))?(?:.*? fast=(?<fast>[01]))?")]
    private static partial Regex RequestPattern();

    [GeneratedRegex(@"connection=(?<conn>\d+) \.\.\.(?<cmd>[A-Z][a-z]+) id=(?<id>\d+) (?<result>.*)$")]
    private static partial Regex ReplyPattern();
}
