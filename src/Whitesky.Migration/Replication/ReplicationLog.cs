using Microsoft.Extensions.Logging;

namespace Whitesky.Migration.Replication;

/// <summary>Source-generated log messages of replication.</summary>
internal static partial class ReplicationLog
{
    [LoggerMessage(EventId = 600, Level = LogLevel.Information, Message = "Replication {Source} -> {Target}: pass {Pass} changed {Changed} bytes in {Ranges} range(s), sent {Sent}, zeroed {Zeroed}, {Seconds:F2} s, trend {Trend}")]
    public static partial void PassDone(ILogger logger, string source, string target, int pass, long changed, int ranges, long sent, long zeroed, double seconds, ReplicationTrend trend);

    [LoggerMessage(EventId = 601, Level = LogLevel.Information, Message = "Replication {Source} resumes at pass {Pass} from {StatePath}")]
    public static partial void Resumed(ILogger logger, string source, int pass, string statePath);

    [LoggerMessage(EventId = 602, Level = LogLevel.Information, Message = "Replication {Source} stops its passes after pass {Pass}: {Reason}")]
    public static partial void Stopped(ILogger logger, string source, int pass, ReplicationStopReason reason);
}
