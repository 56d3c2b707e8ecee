using System.Text.Json.Serialization;
using Whitesky.Nbd;

namespace Whitesky.Migrate.Info;

/// <summary>
/// What <c>nbd info</c> reports about an export. The JSON names are those of <c>nbdinfo --json</c>
/// where nbdinfo has the field, so scripts written for one read the other.
/// </summary>
internal sealed record ExportReport
{
    [JsonPropertyName("export-name")]
    public required string Name { get; init; }

    [JsonPropertyName("description")]
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public string? Description { get; init; }

    [JsonPropertyName("export-size")]
    public required long Size { get; init; }

    /// <summary>The raw <c>NBD_FLAG_*</c> transmission flags.</summary>
    [JsonPropertyName("transmission-flags")]
    public required int TransmissionFlags { get; init; }

    [JsonPropertyName("is_read_only")]
    public bool IsReadOnly { get; init; }

    [JsonPropertyName("is_rotational")]
    public bool IsRotational { get; init; }

    [JsonPropertyName("can_flush")]
    public bool CanFlush { get; init; }

    [JsonPropertyName("can_fua")]
    public bool CanFua { get; init; }

    [JsonPropertyName("can_trim")]
    public bool CanTrim { get; init; }

    [JsonPropertyName("can_zero")]
    public bool CanZero { get; init; }

    [JsonPropertyName("can_fast_zero")]
    public bool CanFastZero { get; init; }

    [JsonPropertyName("can_cache")]
    public bool CanCache { get; init; }

    [JsonPropertyName("can_df")]
    public bool CanDf { get; init; }

    [JsonPropertyName("can_multi_conn")]
    public bool CanMultiConn { get; init; }

    [JsonPropertyName("block_size_minimum")]
    public int BlockSizeMinimum { get; init; }

    [JsonPropertyName("block_size_preferred")]
    public int BlockSizePreferred { get; init; }

    [JsonPropertyName("block_size_maximum")]
    public int BlockSizeMaximum { get; init; }

    /// <summary>Whether the server sent the block sizes (otherwise they are the protocol's defaults).</summary>
    [JsonPropertyName("block_size_advertised")]
    public bool BlockSizeAdvertised { get; init; }

    [JsonPropertyName("structured")]
    public bool StructuredReplies { get; init; }

    [JsonPropertyName("TLS")]
    public bool Tls { get; init; }

    /// <summary><c>TLS-PSK</c> or <c>X.509</c> when <see cref="Tls"/>.</summary>
    [JsonPropertyName("tls-method")]
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public string? TlsMethod { get; init; }

    /// <summary>The meta contexts the server offers for the export.</summary>
    [JsonPropertyName("contexts")]
    public IReadOnlyList<string> Contexts { get; init; } = [];

    public static ExportReport From(NbdExportInfo export, IReadOnlyList<string> contexts) => new()
    {
        Name = export.Name,
        Description = string.IsNullOrEmpty(export.Description) ? null : export.Description,
        Size = export.Size,
        TransmissionFlags = (int)export.Flags,
        IsReadOnly = export.IsReadOnly,
        IsRotational = export.IsRotational,
        CanFlush = export.CanFlush,
        CanFua = export.CanFua,
        CanTrim = export.CanTrim,
        CanZero = export.CanWriteZeroes,
        CanFastZero = export.CanFastZero,
        CanCache = export.CanCache,
        CanDf = export.CanDontFragment,
        CanMultiConn = export.CanMultiConn,
        BlockSizeMinimum = export.MinimumBlockSize,
        BlockSizePreferred = export.PreferredBlockSize,
        BlockSizeMaximum = export.MaximumPayloadSize,
        BlockSizeAdvertised = export.BlockSizeAdvertised,
        StructuredReplies = export.StructuredReplies,
        Tls = export.Tls is not null,
        TlsMethod = export.Tls,
        Contexts = contexts,
    };
}
