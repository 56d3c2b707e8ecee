using Refit;

namespace Whitesky.Api.Models;

/// <summary>The query parameters of <c>AddCloudspaceDomain</c>.</summary>
public sealed record AddDnsRecordRequest
{
    /// <summary>The domain name.</summary>
    [AliasAs("domain")]
    public required string Domain { get; init; }

    /// <summary>Record type: A, AAAA, MX, NS, CNAME, TXT, SRV or CAA.</summary>
    [AliasAs("type")]
    public required string Type { get; init; }

    /// <summary>Service, e.g. <c>_ftp</c> (SRV only).</summary>
    [AliasAs("service")]
    public string? Service { get; init; }

    /// <summary>Protocol, e.g. <c>_tcp</c> (SRV only).</summary>
    [AliasAs("protocol")]
    public string? Protocol { get; init; }

    /// <summary>Port number (SRV only).</summary>
    [AliasAs("port")]
    public long? Port { get; init; }

    /// <summary>Weight, 0 or higher (SRV only).</summary>
    [AliasAs("weight")]
    public long? Weight { get; init; }

    /// <summary>Priority, 0 or higher (SRV and MX).</summary>
    [AliasAs("priority")]
    public long? Priority { get; init; }

    /// <summary>The value (TXT, MX, CNAME, SRV, NS).</summary>
    [AliasAs("value")]
    public string? Value { get; init; }

    /// <summary>CAA domain (CAA only).</summary>
    [AliasAs("caa_domain")]
    public string? CaaDomain { get; init; }

    /// <summary>Flag 0 or 128 (CAA only).</summary>
    [AliasAs("flag")]
    public long? Flag { get; init; }

    /// <summary>Tag, e.g. <c>issue</c> (CAA only).</summary>
    [AliasAs("tag")]
    public string? Tag { get; init; }
}
