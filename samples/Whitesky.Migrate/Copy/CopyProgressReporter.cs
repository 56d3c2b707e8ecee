using System.Diagnostics;
using System.Globalization;
using Whitesky.Migrate.Cli;

namespace Whitesky.Migrate.Copy;

/// <summary>Prints a copy's progress to a writer (standard error) once per interval, and once more when disposed.</summary>
internal sealed class CopyProgressReporter : IAsyncDisposable
{
    private readonly TextWriter _writer;
    private readonly CopyStatistics _statistics;
    private readonly PeriodicTimer _timer;
    private readonly Stopwatch _clock = Stopwatch.StartNew();
    private readonly Task _loop;

    public CopyProgressReporter(TextWriter writer, CopyStatistics statistics, TimeSpan interval)
    {
        _writer = writer;
        _statistics = statistics;
        _timer = new PeriodicTimer(interval);
        _loop = RunAsync();
    }

    public async ValueTask DisposeAsync()
    {
        _timer.Dispose();
        await _loop;
    }

    private async Task RunAsync()
    {
        while (await _timer.WaitForNextTickAsync())
        {
            await ReportAsync();
        }

        await ReportAsync();
    }

    private async Task ReportAsync()
    {
        var total = _statistics.TotalBytes;
        if (total <= 0)
        {
            return;
        }

        var done = _statistics.CompletedBytes;
        var seconds = Math.Max(_clock.Elapsed.TotalSeconds, 0.001);
        await _writer.WriteLineAsync(string.Create(CultureInfo.InvariantCulture,
            $"progress: {100.0 * done / total,5:0.0}% ({ByteSize.Format(done)} of {ByteSize.Format(total)}), {ByteSize.Format(_statistics.DataBytes)} of data at {_statistics.DataBytes / 1048576.0 / seconds:0} MiB/s"));
        await _writer.FlushAsync();
    }
}
