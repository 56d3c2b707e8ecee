using Microsoft.Extensions.Logging;
using Whitesky.Nbd;

namespace Whitesky.Migrate.Copy;

/// <summary>
/// Makes ranges of the target read as zeroes with the cheapest command it supports: <c>WRITE_ZEROES</c>
/// with <c>FAST_ZERO</c>, then plain <c>WRITE_ZEROES</c> once the server refuses fast zeroing, else
/// writes of a shared zero buffer.
/// </summary>
internal sealed class TargetZeroer
{
    /// <summary>One WRITE_ZEROES covers at most this much, so a huge hole still spreads over connections and shows progress.</summary>
    private const long MaxZeroRequest = 1L << 30;

    private readonly NbdClient _target;
    private readonly ILogger _logger;
    private readonly int _bufferSize;
    private ReadOnlyMemory<byte> _zeroBuffer;
    private int _method;

    public TargetZeroer(NbdClient target, int bufferSize, ILogger logger)
    {
        _target = target;
        _bufferSize = bufferSize;
        _logger = logger;
        var export = target.Export;
        _method = (int)(!export.CanWriteZeroes ? ZeroingMethod.ZeroBuffers
            : export.CanFastZero ? ZeroingMethod.FastWriteZeroes
            : ZeroingMethod.WriteZeroes);
        if (Method == ZeroingMethod.ZeroBuffers)
        {
            _zeroBuffer = GC.AllocateArray<byte>(bufferSize, pinned: true);
        }
    }

    public ZeroingMethod Method => (ZeroingMethod)Volatile.Read(ref _method);

    /// <summary>The largest range one call should be given.</summary>
    public long MaxRequestLength => Method == ZeroingMethod.ZeroBuffers ? _bufferSize : MaxZeroRequest;

    public async Task ZeroAsync(long offset, long length, CancellationToken cancellationToken)
    {
        if (Method == ZeroingMethod.FastWriteZeroes)
        {
            try
            {
                await _target.WriteZeroesAsync(offset, length, NbdCommandFlags.FastZero, cancellationToken);
                return;
            }
            catch (NbdException ex) when (ex.Error == NbdError.ENOTSUP)
            {
                if (Interlocked.CompareExchange(ref _method, (int)ZeroingMethod.WriteZeroes, (int)ZeroingMethod.FastWriteZeroes) == (int)ZeroingMethod.FastWriteZeroes)
                {
                    CopyLog.FastZeroRefused(_logger);
                }
            }
        }

        if (Method != ZeroingMethod.ZeroBuffers)
        {
            await _target.WriteZeroesAsync(offset, length, NbdCommandFlags.None, cancellationToken);
            return;
        }

        for (long done = 0; done < length;)
        {
            var part = (int)Math.Min(_bufferSize, length - done);
            await _target.WriteAsync(offset + done, _zeroBuffer[..part], cancellationToken: cancellationToken);
            done += part;
        }
    }
}
