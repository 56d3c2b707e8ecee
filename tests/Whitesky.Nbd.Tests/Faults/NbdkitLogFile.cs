using System.Diagnostics;

namespace Whitesky.Nbd.Tests.Faults;

/// <summary>
/// The file nbdkit's log filter writes (<c>--filter=log logfile=FILE</c>). Placed first among the filters
/// it logs each request as it arrives, before slower filters hold it: a test waits on it to know that
/// its requests really are at the server, instead of sleeping and hoping.
/// </summary>
public sealed class NbdkitLogFile
{
    public NbdkitLogFile(string path)
    {
        Path = path;
    }

    public string Path { get; }

    /// <summary>The nbdkit argument that sends the log here.</summary>
    public string Argument => "logfile=" + Path;

    /// <summary>Request lines (the call, not its "...return" line) for an action such as <c>Read</c> or <c>Write</c>.</summary>
    public IReadOnlyList<string> Requests(params string[] actions) => Lines(actions.Select(a => $" {a} id=").ToArray());

    /// <summary>The "...return" lines: requests the plugin finished, whose replies the server is sending.</summary>
    public IReadOnlyList<string> Returns(params string[] actions) => Lines(actions.Select(a => $" ...{a} id=").ToArray());

    /// <summary>Polls until at least <paramref name="count"/> requests of the given actions reached the server.</summary>
    public Task<IReadOnlyList<string>> WaitForRequestsAsync(int count, TimeSpan limit, params string[] actions) =>
        WaitAsync(() => Requests(actions), count, limit, $"{string.Join('/', actions)} requests");

    /// <summary>Polls until at least <paramref name="count"/> requests of the given actions were finished by the server.</summary>
    public Task<IReadOnlyList<string>> WaitForReturnsAsync(int count, TimeSpan limit, params string[] actions) =>
        WaitAsync(() => Returns(actions), count, limit, $"{string.Join('/', actions)} returns");

    private IReadOnlyList<string> Lines(string[] markers)
    {
        if (!File.Exists(Path))
        {
            return [];
        }

        using var stream = new FileStream(Path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);
        using var reader = new StreamReader(stream);
        var lines = new List<string>();
        while (reader.ReadLine() is { } line)
        {
            if (markers.Any(m => line.Contains(m, StringComparison.Ordinal)))
            {
                lines.Add(line);
            }
        }

        return lines;
    }

    private static async Task<IReadOnlyList<string>> WaitAsync(Func<IReadOnlyList<string>> read, int count, TimeSpan limit, string what)
    {
        var clock = Stopwatch.StartNew();
        while (true)
        {
            var lines = read();
            if (lines.Count >= count)
            {
                return lines;
            }

            if (clock.Elapsed > limit)
            {
                throw new TimeoutException($"nbdkit logged {lines.Count} of {count} {what} within {limit}.");
            }

            await Task.Delay(10);
        }
    }
}
