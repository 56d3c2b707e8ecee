using System.Diagnostics.Metrics;

namespace Whitesky.Migration.Transfer;

/// <summary>The package's meter: bytes by kind and retries, so a host can chart transfers.</summary>
internal static class TransferMetrics
{
    /// <summary>The meter's name, the package's.</summary>
    public const string MeterName = "Whitesky.Migration";

    private static readonly Meter Meter = new(MeterName);

    public static readonly Counter<long> Bytes = Meter.CreateCounter<long>("whitesky.migration.transfer.bytes", "By",
        "Bytes a transfer moved, by kind (read, written, zeroed, skipped).");

    public static readonly Counter<long> Retries = Meter.CreateCounter<long>("whitesky.migration.transfer.retries", "{request}",
        "Requests sent again after a transient failure.");

    public static readonly Counter<long> Transfers = Meter.CreateCounter<long>("whitesky.migration.transfer.completed", "{transfer}",
        "Transfers finished, by outcome.");

    public static void AddBytes(long bytes, string kind) => Bytes.Add(bytes, new KeyValuePair<string, object?>("kind", kind));
}
