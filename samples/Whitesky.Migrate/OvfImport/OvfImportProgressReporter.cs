using System.Globalization;
using Whitesky.Migrate.Cli;
using Whitesky.Migration.Paths.Ovf;

namespace Whitesky.Migrate.OvfImport;

/// <summary>
/// Prints an OVF import's progress to standard error: per step a bar with rate and ETA redrawn in place on a terminal,
/// else one line per step change and per 10% (<c>uploading: 40% ...</c>); the import step shows the VM's status.
/// </summary>
internal sealed class OvfImportProgressReporter(TextWriter writer, bool terminal) : IProgress<OvfS3ImportProgress>, IAsyncDisposable
{
    private const int BarWidth = 30;
    private readonly Lock _lock = new();
    private OvfS3ImportStage? _stage;
    private TimeSpan _stageStart;
    private int _lastDecile = -1;
    private string? _lastStatus;

    public void Report(OvfS3ImportProgress value)
    {
        lock (_lock)
        {
            if (_stage != value.Stage)
            {
                if (terminal && _stage is not null)
                {
                    writer.WriteLine();
                }

                _stage = value.Stage;
                _stageStart = value.Elapsed;
                _lastDecile = -1;
                _lastStatus = null;
                if (!terminal)
                {
                    writer.WriteLine(value.Stage == OvfS3ImportStage.Completed ? "done" : $"{Name(value.Stage)}...");
                }
            }

            Write(value);
            writer.Flush();
        }
    }

    public ValueTask DisposeAsync()
    {
        lock (_lock)
        {
            if (terminal && _stage is not null)
            {
                writer.WriteLine();
            }
        }

        return ValueTask.CompletedTask;
    }

    private void Write(OvfS3ImportProgress p)
    {
        var seconds = (p.Elapsed - _stageStart).TotalSeconds;
        if (p.BytesTotal > 0)
        {
            var fraction = Math.Clamp((double)p.BytesDone / p.BytesTotal, 0, 1);
            var rate = seconds > 0 ? p.BytesDone / seconds : 0;
            var eta = rate > 0 ? TimeSpan.FromSeconds((p.BytesTotal - p.BytesDone) / rate) : (TimeSpan?)null;
            var etaText = eta is { } e ? string.Create(CultureInfo.InvariantCulture, $", ETA {e:hh\\:mm\\:ss}") : string.Empty;
            var text = string.Create(CultureInfo.InvariantCulture,
                $"{100 * fraction,5:0.0}% {ByteSize.Format(p.BytesDone)} of {ByteSize.Format(p.BytesTotal)}, {rate / 1048576:0.0} MiB/s{etaText}");
            if (terminal)
            {
                var filled = (int)(fraction * BarWidth);
                writer.Write($"\r{Name(p.Stage),-10} [{new string('#', filled)}{new string('.', BarWidth - filled)}] {text}   ");
            }
            else if ((int)(fraction * 10) is var decile && decile != _lastDecile)
            {
                _lastDecile = decile;
                writer.WriteLine($"{Name(p.Stage)}: {text}");
            }
        }
        else if (p.Stage == OvfS3ImportStage.Importing && p.VmId is { } vm)
        {
            var text = string.Create(CultureInfo.InvariantCulture, $"VM {vm}: {p.VmStatus ?? "requested"}, {seconds:0}s");
            if (terminal)
            {
                writer.Write($"\r{Name(p.Stage),-10} {text}   ");
            }
            else if (p.VmStatus != _lastStatus)
            {
                _lastStatus = p.VmStatus;
                writer.WriteLine($"{Name(p.Stage)}: {text}");
            }
        }
        else if (terminal)
        {
            writer.Write($"\r{Name(p.Stage),-10} ...");
        }
    }

    private static string Name(OvfS3ImportStage stage) => stage switch
    {
        OvfS3ImportStage.Packaging => "packaging",
        OvfS3ImportStage.Validating => "validating",
        OvfS3ImportStage.Uploading => "uploading",
        OvfS3ImportStage.Importing => "importing",
        OvfS3ImportStage.CleaningUp => "cleanup",
        _ => "done",
    };
}
