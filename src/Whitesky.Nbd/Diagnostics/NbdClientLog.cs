using Microsoft.Extensions.Logging;

namespace Whitesky.Nbd.Client;

/// <summary>Source-generated log messages of the client. Keys never reach a log.</summary>
internal static partial class NbdClientLog
{
    [LoggerMessage(EventId = 1, Level = LogLevel.Debug, Message = "Connected to NBD export '{Export}' at {Endpoint}: {Size} bytes, flags {Flags}, block sizes {Min}/{Preferred}/{Max}, TLS {Tls}")]
    public static partial void Connected(ILogger logger, string export, string endpoint, long size, NbdTransmissionFlags flags, int min, int preferred, int max, string tls);

    [LoggerMessage(EventId = 2, Level = LogLevel.Warning, Message = "NBD connection to {Endpoint} failed with {Pending} request(s) in flight: {Reason}")]
    public static partial void ConnectionFailed(ILogger logger, string endpoint, int pending, string reason);

    [LoggerMessage(EventId = 3, Level = LogLevel.Information, Message = "The export at {Endpoint} does not advertise CAN_MULTI_CONN; using 1 connection instead of {Requested}")]
    public static partial void MultiConnUnavailable(ILogger logger, string endpoint, int requested);
}
