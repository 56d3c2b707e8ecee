using System.Globalization;
using Whitesky.Migrate.Cli;
using Whitesky.Migration.Paths.Streaming;
using Whitesky.Migration.Transfer;

namespace Whitesky.Migrate.Paths;

/// <summary>
/// Prints a streaming import's progress to standard error: each disk's steps as lines, and the copy of all disks
/// together as one bar with rate and ETA, redrawn in place on a terminal (a line every few seconds otherwise).
/// </summary>
internal sealed class ImportProgressBar(TextWriter writer, bool terminal, int disks) : IProgress<StreamingImportProgress>, IDisposable
{
    private const int BarWidth = 30;
    private static readonly TimeSpan LineInterval = TimeSpan.FromSeconds(5);
    private readonly Lock _lock = new();
    private readonly TransferProgress?[] _transfers = new TransferProgress?[disks];
    private readonly StreamingImportPhase?[] _phases = new StreamingImportPhase?[disks];
    private bool _barShown;
    private long _lastLine;

    public void Report(StreamingImportProgress value)
    {
        lock (_lock)
        {
            if (_phases[value.DiskIndex] != value.Phase)
            {
                _phases[value.DiskIndex] = value.Phase;
                EndBar();
                var disk = value.DiskId is { } id ? string.Create(CultureInfo.InvariantCulture, $" → disk {id}") : string.Empty;
                writer.WriteLine(string.Create(CultureInfo.InvariantCulture,
                    $"[{value.DiskIndex + 1}/{_transfers.Length}] {Path.GetFileName(value.ImagePath)}{disk}: {Describe(value.Phase)}"));
            }

            if (value.Transfer is { } transfer)
            {
                _transfers[value.DiskIndex] = transfer;
                DrawBar(transfer.Phase == TransferPhase.Completed);
            }

            writer.Flush();
        }
    }

    public void Dispose()
    {
        lock (_lock)
        {
            EndBar();
        }
    }

    private static string Describe(StreamingImportPhase phase) => phase switch
    {
        StreamingImportPhase.Inspecting => "reading the image and its partition table",
        StreamingImportPhase.CreatingDisk => "creating the disk",
        StreamingImportPhase.Exposing => "exposing the disk over NBD (TLS-PSK)",
        StreamingImportPhase.Transferring => "copying the data",
        StreamingImportPhase.RelocatingGpt => "moving the GPT backup header to the end of the disk",
        StreamingImportPhase.Unexposing => "ending the NBD exposure",
        StreamingImportPhase.AttachingToVm => "creating the VM / attaching the disks",
        _ => "done",
    };

    private void DrawBar(bool force)
    {
        var known = _transfers.Where(t => t is not null).Select(t => t!).ToList();
        long total = known.Sum(t => t.TotalBytes), done = known.Sum(t => t.CompletedBytes), written = known.Sum(t => t.BytesWritten);
        if (total <= 0)
        {
            return;
        }

        var fraction = Math.Clamp((double)done / total, 0, 1);
        var rate = known.Sum(t => t.BytesPerSecond);
        var remaining = known.Sum(t => t.EstimatedRemaining?.TotalSeconds ?? 0);
        var eta = remaining > 0 ? string.Create(CultureInfo.InvariantCulture, $", ETA {TimeSpan.FromSeconds(Math.Ceiling(remaining / Math.Max(1, known.Count))):hh\\:mm\\:ss}") : string.Empty;
        if (terminal)
        {
            var filled = (int)(fraction * BarWidth);
            writer.Write(string.Create(CultureInfo.InvariantCulture,
                $"\r[{new string('#', filled)}{new string('.', BarWidth - filled)}] {100 * fraction,5:0.0}% {ByteSize.Format(written)} written, {ByteSize.Format((long)rate)}/s{eta}   "));
            _barShown = true;
            return;
        }

        var now = Environment.TickCount64;
        if (force || now - _lastLine >= LineInterval.TotalMilliseconds)
        {
            _lastLine = now;
            writer.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"progress: {100 * fraction,5:0.0}% of {ByteSize.Format(total)}, {ByteSize.Format(written)} written at {ByteSize.Format((long)rate)}/s{eta}"));
        }
    }

    private void EndBar()
    {
        if (_barShown)
        {
            writer.WriteLine();
            _barShown = false;
        }
    }
}
