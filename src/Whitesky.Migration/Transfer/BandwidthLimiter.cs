using System.Diagnostics;

namespace Whitesky.Migration.Transfer;

/// <summary>A token bucket over data bytes: callers wait until the rate allows their request (bursts up to one second's worth).</summary>
internal sealed class BandwidthLimiter
{
    private readonly Lock _lock = new();
    private readonly double _bytesPerSecond;
    private readonly long _start = Stopwatch.GetTimestamp();
    private double _reservedUntil;

    public BandwidthLimiter(long bytesPerSecond) => _bytesPerSecond = bytesPerSecond;

    public Task WaitAsync(long bytes, CancellationToken cancellationToken)
    {
        double wait;
        lock (_lock)
        {
            var now = Stopwatch.GetElapsedTime(_start).TotalSeconds;
            _reservedUntil = Math.Max(_reservedUntil, now - 1) + bytes / _bytesPerSecond;
            wait = _reservedUntil - now;
        }

        return wait <= 0 ? Task.CompletedTask : Task.Delay(TimeSpan.FromSeconds(wait), cancellationToken);
    }
}
