using Whitesky.Nbd.Server;

namespace Whitesky.Nbd.Tests.Server.Interop;

/// <summary>
/// An <see cref="ArrayBackend"/> whose reads and/or writes wait at a gate the test opens, so a test can
/// hold requests inside the server for as long as it needs (no sleeps) and watch how many got there.
/// </summary>
internal sealed class GatedBackend : NbdBackend
{
    private readonly TaskCompletionSource _gate = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly List<(int Count, TaskCompletionSource Reached)> _watches = [];
    private readonly bool _holdReads;
    private readonly bool _holdWrites;
    private int _entered;
    private int _active;
    private int _maxActive;

    public GatedBackend(ArrayBackend inner, bool holdReads, bool holdWrites)
    {
        Inner = inner;
        _holdReads = holdReads;
        _holdWrites = holdWrites;
    }

    public ArrayBackend Inner { get; }

    /// <summary>Reads and writes that reached the backend so far.</summary>
    public int Entered
    {
        get
        {
            lock (_watches)
            {
                return _entered;
            }
        }
    }

    /// <summary>The most reads and writes that were inside the backend at once.</summary>
    public int MaxActive
    {
        get
        {
            lock (_watches)
            {
                return _maxActive;
            }
        }
    }

    /// <summary>Called as each read or write arrives, before it waits at the gate.</summary>
    public Action? OnEntered { get; init; }

    public override long Size => Inner.Size;

    public override bool CanTrim => Inner.CanTrim;

    public override bool CanFastZero => Inner.CanFastZero;

    public override bool CanFlush => Inner.CanFlush;

    public override bool CanReportAllocation => Inner.CanReportAllocation;

    /// <summary>Lets every held request (and every later one) through.</summary>
    public void Open() => _gate.TrySetResult();

    /// <summary>Completes once <paramref name="count"/> reads and writes have reached the backend.</summary>
    public Task WhenEnteredAsync(int count)
    {
        lock (_watches)
        {
            if (_entered >= count)
            {
                return Task.CompletedTask;
            }

            var reached = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            _watches.Add((count, reached));
            return reached.Task;
        }
    }

    public override async ValueTask ReadAsync(long offset, Memory<byte> buffer, CancellationToken cancellationToken)
    {
        await EnterAsync(_holdReads);
        try
        {
            await Inner.ReadAsync(offset, buffer, cancellationToken);
        }
        finally
        {
            Leave();
        }
    }

    public override async ValueTask WriteAsync(long offset, ReadOnlyMemory<byte> data, bool fua, CancellationToken cancellationToken)
    {
        await EnterAsync(_holdWrites);
        try
        {
            await Inner.WriteAsync(offset, data, fua, cancellationToken);
        }
        finally
        {
            Leave();
        }
    }

    public override ValueTask FlushAsync(CancellationToken cancellationToken) => Inner.FlushAsync(cancellationToken);

    public override ValueTask<IReadOnlyList<NbdExtent>> GetAllocationAsync(long offset, long length, CancellationToken cancellationToken) =>
        Inner.GetAllocationAsync(offset, length, cancellationToken);

    private async Task EnterAsync(bool hold)
    {
        OnEntered?.Invoke();
        lock (_watches)
        {
            _entered++;
            _active++;
            _maxActive = Math.Max(_maxActive, _active);
            foreach (var watch in _watches.Where(w => _entered >= w.Count).ToList())
            {
                watch.Reached.TrySetResult();
                _watches.Remove(watch);
            }
        }

        if (hold)
        {
            await _gate.Task;
        }
    }

    private void Leave()
    {
        lock (_watches)
        {
            _active--;
        }
    }
}
