using Microsoft.Extensions.Logging;

namespace Whitesky.Migration.Sinks;

/// <summary>Source-generated log messages of the block sinks.</summary>
internal static partial class SinkLog
{
    [LoggerMessage(EventId = 220, Level = LogLevel.Debug, Message = "{Target} refused WRITE_ZEROES with FAST_ZERO (ENOTSUP); zeroing with plain WRITE_ZEROES from now on")]
    public static partial void FastZeroRefused(ILogger logger, string target);

    [LoggerMessage(EventId = 221, Level = LogLevel.Warning, Message = "Connected to {Target} again after a lost connection")]
    public static partial void Reconnected(ILogger logger, string target);

    [LoggerMessage(EventId = 222, Level = LogLevel.Warning, Message = "Could not connect to {Target} again: {Reason}")]
    public static partial void ReconnectFailed(ILogger logger, string target, string reason);
}
