using System.Diagnostics.Metrics;

namespace Whitesky.Nbd.Client;

/// <summary>Metrics of the NBD client, on the meter <c>Whitesky.Nbd</c>.</summary>
internal static class NbdClientMetrics
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
}
