using System.Diagnostics.Metrics;

namespace Whitesky.Nbd;

/// <summary>Metrics of the NBD client and server, on the meter <c>Whitesky.Nbd</c>.</summary>
internal static class NbdMetrics
{
    public const string MeterName = "Whitesky.Nbd";

    private static readonly Meter Meter = new(MeterName);

    /// <summary>Requests sent, tagged with <c>command</c>.</summary>
    public static readonly Counter<long> Requests = Meter.CreateCounter<long>("nbd.client.requests", "{request}", "NBD requests sent");

    /// <summary>Payload bytes written.</summary>
    public static readonly Counter<long> BytesWritten = Meter.CreateCounter<long>("nbd.client.bytes_written", "By", "WRITE payload bytes sent");

    /// <summary>Data bytes read.</summary>
    public static readonly Counter<long> BytesRead = Meter.CreateCounter<long>("nbd.client.bytes_read", "By", "READ data bytes received");

    /// <summary>Requests the server failed.</summary>
    public static readonly Counter<long> Errors = Meter.CreateCounter<long>("nbd.client.errors", "{request}", "NBD requests that failed with a server error");

    /// <summary>Requests the server answered, tagged with <c>command</c> and <c>error</c>.</summary>
    public static readonly Counter<long> ServerRequests = Meter.CreateCounter<long>("nbd.server.requests", "{request}", "NBD requests answered by the server");

    /// <summary>Bytes the server received in WRITE payloads.</summary>
    public static readonly Counter<long> ServerBytesWritten = Meter.CreateCounter<long>("nbd.server.bytes_written", "By", "WRITE payload bytes received by the server");

    /// <summary>Bytes the server sent in READ replies.</summary>
    public static readonly Counter<long> ServerBytesRead = Meter.CreateCounter<long>("nbd.server.bytes_read", "By", "READ data bytes sent by the server");

    /// <summary>Connections the server accepted.</summary>
    public static readonly Counter<long> ServerConnections = Meter.CreateCounter<long>("nbd.server.connections", "{connection}", "connections accepted by the NBD server");
}
