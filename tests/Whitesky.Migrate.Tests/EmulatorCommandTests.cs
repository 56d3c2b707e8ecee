using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using Whitesky.Migrate.Cli;

namespace Whitesky.Migrate.Tests;

/// <summary><c>emulator</c>: runs a local whitesky in the foreground and prints what a client needs to reach it.</summary>
public sealed class EmulatorCommandTests
{
    private static readonly TimeSpan Limit = TimeSpan.FromSeconds(30);

    [Fact]
    public async Task Emulator_prints_a_base_url_and_a_jwt_that_the_api_accepts_and_stops_on_cancel()
    {
        using var dir = new Whitesky.Nbd.Tests.Peers.TempDirectory();
        var data = Path.Combine(dir.Path, "data");
        var output = new LineCollector();
        using var stop = new CancellationTokenSource();
        var error = new StringWriter();
        var run = Task.Run(() => MigrateCommandLine.InvokeAsync(["emulator", "--port", "0", "--data", data], output, TextWriter.Synchronized(error), stop.Token));

        var settings = await output.WaitForAsync("WHITESKY_JWT=").WaitAsync(Limit);
        Assert.StartsWith("http://127.0.0.1:", settings["WHITESKY_BASE_URL"], StringComparison.Ordinal);
        Assert.EndsWith("/api/1", settings["WHITESKY_BASE_URL"], StringComparison.Ordinal);
        Assert.Equal(data, settings["WHITESKY_EMULATOR_DATA"]);

        using var http = new HttpClient();
        http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", settings["WHITESKY_JWT"]);
        var location = $"{settings["WHITESKY_BASE_URL"]}/customers/{settings["WHITESKY_CUSTOMER_ID"]}/locations/{settings["WHITESKY_LOCATION"]}";
        using var created = await http.PostAsync($"{location}/disks?disk_name=d&description=d&disk_size=1", null);
        Assert.Equal(HttpStatusCode.OK, created.StatusCode);
        var diskId = JsonDocument.Parse(await created.Content.ReadAsStringAsync()).RootElement.GetProperty("disk_id").GetInt32();
        Assert.True(File.Exists(Path.Combine(data, "disks", $"disk-{diskId}.raw")));

        await stop.CancelAsync();
        Assert.Equal(0, await run.WaitAsync(Limit));
        Assert.Equal(string.Empty, error.ToString());
        Assert.True(Directory.Exists(data)); // a given data folder is kept
        await Assert.ThrowsAsync<HttpRequestException>(() => http.GetAsync($"{location}/disks"));
    }

    /// <summary>Collects <c>NAME=value</c> lines and completes when one with a given prefix is in.</summary>
    private sealed class LineCollector : TextWriter
    {
        private readonly StringBuilder _text = new();
        private readonly Lock _gate = new();
        private readonly List<(string Prefix, TaskCompletionSource<Dictionary<string, string>> Done)> _waiters = [];

        public override Encoding Encoding => Encoding.UTF8;

        public Task<Dictionary<string, string>> WaitForAsync(string prefix)
        {
            lock (_gate)
            {
                var done = new TaskCompletionSource<Dictionary<string, string>>(TaskCreationOptions.RunContinuationsAsynchronously);
                _waiters.Add((prefix, done));
                Check();
                return done.Task;
            }
        }

        public override void Write(char value)
        {
            lock (_gate)
            {
                _text.Append(value);
                if (value == '\n')
                {
                    Check();
                }
            }
        }

        private void Check()
        {
            var lines = _text.ToString().Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
            foreach (var (prefix, done) in _waiters)
            {
                if (lines.Any(l => l.StartsWith(prefix, StringComparison.Ordinal)))
                {
                    done.TrySetResult(lines.Where(l => l.Contains('=', StringComparison.Ordinal)).ToDictionary(l => l[..l.IndexOf('=', StringComparison.Ordinal)], l => l[(l.IndexOf('=', StringComparison.Ordinal) + 1)..]));
                }
            }
        }
    }
}
