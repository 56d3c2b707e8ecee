namespace Whitesky.Nbd.Server;

/// <summary>
/// A server-wide budget of payload buffer bytes, granted first come, first served. It keeps the memory of
/// all connections together bounded: one client's huge requests wait instead of exhausting the host.
/// </summary>
internal sealed class ByteBudget
{
    private readonly long _capacity;
    private readonly Queue<(long Bytes, TaskCompletionSource Granted)> _waiters = new();
    private readonly Lock _lock = new();
    private long _available;

    public ByteBudget(long capacity)
    {
        _capacity = capacity;
        _available = capacity;
    }

    /// <summary>Bytes not granted now (for tests and diagnostics).</summary>
    public long Available
    {
        get
        {
            lock (_lock)
            {
                return _available;
            }
        }
    }

    /// <summary>Requests waiting for bytes now (for tests and diagnostics).</summary>
    public int Waiting
    {
        get
        {
            lock (_lock)
            {
                return _waiters.Count;
            }
        }
    }

    /// <summary>
    /// Waits until <paramref name="bytes"/> (at most the whole budget) are granted; returns what was granted,
    /// to be given back with <see cref="Release"/>. A wait cancelled by <paramref name="cancellationToken"/> (server
    /// stop) may still be granted later; nothing is served after a stop, so that grant is never needed back.
    /// </summary>
    public async ValueTask<long> AcquireAsync(long bytes, CancellationToken cancellationToken)
    {
        bytes = Math.Min(bytes, _capacity);
        TaskCompletionSource granted;
        lock (_lock)
        {
            if (_waiters.Count == 0 && _available >= bytes)
            {
                _available -= bytes;
                return bytes;
            }

            granted = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            _waiters.Enqueue((bytes, granted));
        }

        await granted.Task.WaitAsync(cancellationToken).ConfigureAwait(false);
        return bytes;
    }

    public void Release(long bytes)
    {
        List<TaskCompletionSource>? wake = null;
        lock (_lock)
        {
            _available += bytes;
            while (_waiters.TryPeek(out var head) && head.Bytes <= _available)
            {
                _waiters.Dequeue();
                _available -= head.Bytes;
                (wake ??= []).Add(head.Granted);
            }
        }

        foreach (var waiter in wake ?? [])
        {
            waiter.TrySetResult();
        }
    }
}
