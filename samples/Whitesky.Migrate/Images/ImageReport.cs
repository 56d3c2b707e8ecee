using System.Text.Json.Serialization;
using Whitesky.DiskFormats;

namespace Whitesky.Migrate.Images;

/// <summary>What <c>inspect</c> prints about an image and, nested, its parents.</summary>
internal sealed record ImageReport(
    [property: JsonPropertyName("filename")] string Filename,
    [property: JsonPropertyName("format")] string Format,
    [property: JsonPropertyName("subformat")] string? Subformat,
    [property: JsonPropertyName("virtual-size")] long VirtualSize,
    [property: JsonPropertyName("actual-size")] long FileSize,
    [property: JsonPropertyName("cluster-size")] int? ClusterSize,
    [property: JsonPropertyName("compression")] string? Compression,
    [property: JsonPropertyName("features")] IReadOnlyList<string> Features,
    [property: JsonPropertyName("allocated-bytes")] long? AllocatedBytes,
    [property: JsonPropertyName("backing")] ImageReport? Backing)
{
    public static ImageReport From(DiskInfo info) => new(
        info.Name, info.Format, info.Subformat, info.VirtualSize, info.FileSize, info.ClusterSize, info.Compression,
        info.Features, info.AllocatedBytes, info.Parent is null ? null : From(info.Parent));
}
