using System.Collections.Concurrent;

namespace Whitesky.Emulator.Faults;

/// <summary>
/// Fault switches for tests: latency on every API call, chosen operations failing with a status code, exposures
/// whose NBD endpoint refuses clients, and NBD connections cut on demand or after a number of bytes. Thread-safe;
/// the same switches are reachable over HTTP under <c>/_emulator/faults</c>.
/// </summary>
public sealed class EmulatorFaults
{
    /// <summary>The "status" of an operation that resets the connection before it runs.</summary>
    internal const int AbortBeforeRunning = 0;

    /// <summary>The "status" of an operation that runs, then resets the connection instead of answering.</summary>
    internal const int AbortAfterRunning = 1;

    private readonly ConcurrentDictionary<string, OperationFault> _operations = new(StringComparer.OrdinalIgnoreCase);
    private long _latencyTicks;
    private long _transitionTicks;
    private long _dropAfterBytes = -1;
    private volatile bool _failExposes;
    private volatile bool _stallImports;

    internal EmulatorFaults()
    {
    }

    internal event EventHandler? DropRequested;

    /// <summary>
    /// How long a change of state is shown as a transitional status before the final one, as on the platform where
    /// work is asynchronous: a new disk is <c>CREATING</c>, a VM <c>CREATING</c>, <c>STARTING</c>, <c>STOPPING</c> or
    /// <c>DELETING</c>. Exposing or attaching a disk that is still <c>CREATING</c> is refused (409). Default none:
    /// every change is final at once.
    /// </summary>
    public TimeSpan StateTransitionDelay
    {
        get => TimeSpan.FromTicks(Interlocked.Read(ref _transitionTicks));
        set
        {
            ArgumentOutOfRangeException.ThrowIfLessThan(value, TimeSpan.Zero);
            Interlocked.Exchange(ref _transitionTicks, value.Ticks);
        }
    }

    /// <summary>Delay added before every REST API call is answered. Default none.</summary>
    public TimeSpan Latency
    {
        get => TimeSpan.FromTicks(Interlocked.Read(ref _latencyTicks));
        set
        {
            ArgumentOutOfRangeException.ThrowIfLessThan(value, TimeSpan.Zero);
            Interlocked.Exchange(ref _latencyTicks, value.Ticks);
        }
    }

    /// <summary>
    /// When set, an exposure answers as usual but its NBD endpoint accepts and closes every connection (an export
    /// that did not come up). Exposures made before keep working.
    /// </summary>
    public bool FailExposes
    {
        get => _failExposes;
        set => _failExposes = value;
    }

    /// <summary>
    /// When set, an <c>import-vm-s3</c> started afterwards never progresses: its VM stays <c>IMPORTING</c> until it is
    /// deleted or the emulator stops (an import that never completes).
    /// </summary>
    public bool StallImports
    {
        get => _stallImports;
        set => _stallImports = value;
    }

    /// <summary>When set, every NBD connection (through an exposure made after or before) is cut once it has carried this many bytes in both directions together.</summary>
    public long? DropNbdConnectionsAfterBytes
    {
        get => Interlocked.Read(ref _dropAfterBytes) is var value && value >= 0 ? value : null;
        set
        {
            if (value is < 0)
            {
                throw new ArgumentOutOfRangeException(nameof(value), "A byte count cannot be negative.");
            }

            Interlocked.Exchange(ref _dropAfterBytes, value ?? -1);
        }
    }

    /// <summary>Makes the operation <paramref name="operationId"/> (the swagger's <c>operationId</c>) answer <paramref name="statusCode"/> the next <paramref name="times"/> calls (every call by default).</summary>
    public void FailOperation(string operationId, int statusCode = 500, int times = int.MaxValue)
    {
        ArgumentException.ThrowIfNullOrEmpty(operationId);
        ArgumentOutOfRangeException.ThrowIfLessThan(statusCode, 400);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(statusCode, 599);
        ArgumentOutOfRangeException.ThrowIfLessThan(times, 1);
        _operations[operationId] = new OperationFault(statusCode, times);
    }

    /// <summary>
    /// Makes the operation <paramref name="operationId"/> reset the connection instead of answering, the next
    /// <paramref name="times"/> calls (every call by default). With <paramref name="afterRunning"/> the operation is
    /// carried out first and only its answer is lost — what makes retrying a non-idempotent call unsafe.
    /// </summary>
    public void AbortOperation(string operationId, bool afterRunning = false, int times = int.MaxValue)
    {
        ArgumentException.ThrowIfNullOrEmpty(operationId);
        ArgumentOutOfRangeException.ThrowIfLessThan(times, 1);
        _operations[operationId] = new OperationFault(afterRunning ? AbortAfterRunning : AbortBeforeRunning, times);
    }

    /// <summary>Makes <paramref name="operationId"/> work again.</summary>
    public void ClearOperationFailure(string operationId) => _operations.TryRemove(operationId, out _);

    /// <summary>Operations set to fail, with their status codes (0: the connection is reset before the operation runs, 1: after).</summary>
    public IReadOnlyDictionary<string, int> FailingOperations => _operations.ToDictionary(p => p.Key, p => p.Value.StatusCode, StringComparer.OrdinalIgnoreCase);

    /// <summary>Cuts every NBD connection open now (through every exposure).</summary>
    public void DropNbdConnections() => DropRequested?.Invoke(this, EventArgs.Empty);

    /// <summary>Turns every switch off.</summary>
    public void Reset()
    {
        _operations.Clear();
        Latency = TimeSpan.Zero;
        StateTransitionDelay = TimeSpan.Zero;
        FailExposes = false;
        StallImports = false;
        DropNbdConnectionsAfterBytes = null;
    }

    /// <summary>The status code an operation must fail with now (or an abort), if any (one of its remaining failures is used up).</summary>
    internal int? TakeFailure(string operationId)
    {
        while (_operations.TryGetValue(operationId, out var fault))
        {
            if (fault.Remaining == int.MaxValue)
            {
                return fault.StatusCode;
            }

            var next = fault with { Remaining = fault.Remaining - 1 };
            if (next.Remaining == 0 ? _operations.TryRemove(new KeyValuePair<string, OperationFault>(operationId, fault)) : _operations.TryUpdate(operationId, next, fault))
            {
                return fault.StatusCode;
            }
        }

        return null;
    }

    private sealed record OperationFault(int StatusCode, int Remaining);
}
