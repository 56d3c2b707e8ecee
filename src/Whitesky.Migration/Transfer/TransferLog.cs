using Microsoft.Extensions.Logging;

namespace Whitesky.Migration.Transfer;

/// <summary>Source-generated log messages of the transfer engine.</summary>
internal static partial class TransferLog
{
    [LoggerMessage(EventId = 200, Level = LogLevel.Debug, Message = "Transferring {Source} ({Capacity} bytes) to {Target}: {Window} request(s) in flight, {RequestSize}-byte requests, {Buffers} buffer(s) (huge pages advised: {HugePages}), target reads as zero: {TargetIsZero}, resuming {Resumed} bytes")]
    public static partial void Plan(ILogger logger, string source, long capacity, string target, int window, int requestSize, int buffers, bool hugePages, bool targetIsZero, long resumed);

    [LoggerMessage(EventId = 201, Level = LogLevel.Warning, Message = "A request to {Target} at offset {Offset} failed ({Reason}); retry {Attempt} of {MaxRetries}")]
    public static partial void Retrying(ILogger logger, string target, long offset, string reason, int attempt, int maxRetries);

    [LoggerMessage(EventId = 202, Level = LogLevel.Debug, Message = "Checkpoint saved: {Completed} of {Total} bytes done")]
    public static partial void CheckpointSaved(ILogger logger, long completed, long total);

    [LoggerMessage(EventId = 203, Level = LogLevel.Warning, Message = "Could not save the checkpoint ({Reason}); it keeps its previous state")]
    public static partial void CheckpointFailed(ILogger logger, string reason);

    [LoggerMessage(EventId = 204, Level = LogLevel.Information, Message = "Transfer to {Target} done: {Written} bytes written, {Zeroed} zeroed, {Skipped} skipped, {Resumed} resumed in {Seconds:0.000} s, {Retries} retries")]
    public static partial void Done(ILogger logger, string target, long written, long zeroed, long skipped, long resumed, double seconds, int retries);
}
