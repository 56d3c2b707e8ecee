using Microsoft.Extensions.Logging;

namespace Whitesky.Migrate.Copy;

/// <summary>Source-generated log messages of <c>nbd copy</c>.</summary>
internal static partial class CopyLog
{
    [LoggerMessage(EventId = 100, Level = LogLevel.Debug, Message = "Copying {File} ({FileSize} bytes, {DataBytes} bytes of data in {DataExtents} extent(s)) into export '{Export}' of {ExportSize} bytes over {Connections} connection(s): {Window} request(s) in flight, {RequestSize}-byte requests, {Buffers} buffer(s), target reads as zero: {TargetIsZero}, zeroing by {ZeroMethod}")]
    public static partial void Plan(ILogger logger, string file, long fileSize, long dataBytes, int dataExtents, string export, long exportSize,
        int connections, int window, int requestSize, int buffers, bool targetIsZero, string zeroMethod);

    [LoggerMessage(EventId = 101, Level = LogLevel.Debug, Message = "Cannot map the holes of the source file ({Reason}); copying all of it as data")]
    public static partial void SparseMapUnavailable(ILogger logger, string reason);

    [LoggerMessage(EventId = 102, Level = LogLevel.Debug, Message = "The target refused WRITE_ZEROES with FAST_ZERO (ENOTSUP); zeroing with plain WRITE_ZEROES from now on")]
    public static partial void FastZeroRefused(ILogger logger);

    [LoggerMessage(EventId = 103, Level = LogLevel.Debug, Message = "Cannot tell whether the target reads as zeroes ({Reason}); zeroing the source's holes")]
    public static partial void ZeroProbeFailed(ILogger logger, string reason);

    [LoggerMessage(EventId = 104, Level = LogLevel.Warning, Message = "The target does not support FLUSH; the copy is complete but may not be on stable storage yet")]
    public static partial void FlushUnsupported(ILogger logger);

    [LoggerMessage(EventId = 105, Level = LogLevel.Warning, Message = "--request-size {Requested} is larger than the export's maximum payload of {Maximum} bytes; using {Maximum}")]
    public static partial void RequestSizeClipped(ILogger logger, long requested, int maximum);
}
