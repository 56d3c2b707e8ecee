using System.Globalization;
using Whitesky.Migrate.Cli;
using Whitesky.Migration.Transfer;

namespace Whitesky.Migrate.Copy;

/// <summary>
/// Prints a transfer's progress to standard error: a bar redrawn in place on a terminal, else one line per report
/// (<c>progress: 42.0% ...</c>), and the last state once more when disposed.
/// </summary>
internal sealed class CopyProgressReporter : IProgress<TransferProgress>, IAsyncDisposable
{
    private const int BarWidth = 30;
    private readonly TextWriter _writer;
    private readonly bool _terminal;
    private readonly Lock _lock = new();
    private TransferProgress? _last;

    public CopyProgressReporter(TextWriter writer, bool terminal)
    {
        _writer = writer;
        _terminal = terminal;
    }

    public void Report(TransferProgress value)
    {
        lock (_lock)
        {
            _last = value;
            Write(value);
        }
    }

    public ValueTask DisposeAsync()
    {
        lock (_lock)
        {
            if (_terminal && _last is not null)
            {
                _writer.WriteLine();
            }
        }

        return ValueTask.CompletedTask;
    }

    private void Write(TransferProgress p)
    {
        if (p.TotalBytes <= 0)
        {
            return;
        }

        var fraction = Math.Clamp((double)p.CompletedBytes / p.TotalBytes, 0, 1);
        var rate = p.BytesPerSecond / 1048576.0;
        var eta = p.EstimatedRemaining is { } remaining ? string.Create(CultureInfo.InvariantCulture, $", ETA {remaining:hh\\:mm\\:ss}") : string.Empty;
        if (_terminal)
        {
            var filled = (int)(fraction * BarWidth);
            _writer.Write(string.Create(CultureInfo.InvariantCulture,
                $"\r[{new string('#', filled)}{new string('.', BarWidth - filled)}] {100 * fraction,5:0.0}% {p.Phase,-9} {ByteSize.Format(p.BytesWritten)} written, {ByteSize.Format(p.BytesZeroed + p.BytesSkipped)} zero, {rate:0} MiB/s{eta}   "));
        }
        else
        {
            _writer.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"progress: {100 * fraction,5:0.0}% ({ByteSize.Format(p.CompletedBytes)} of {ByteSize.Format(p.TotalBytes)}), {p.Phase.ToString().ToLowerInvariant()}, {ByteSize.Format(p.BytesWritten)} of data at {rate:0} MiB/s{eta}"));
        }

        _writer.Flush();
    }
}
