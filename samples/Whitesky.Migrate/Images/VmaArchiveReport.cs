using System.Text.Json.Serialization;

namespace Whitesky.Migrate.Images;

/// <summary>What <c>inspect</c> prints about a Proxmox VMA archive: its devices and config files.</summary>
internal sealed record VmaArchiveReport(
    [property: JsonPropertyName("filename")] string Filename,
    [property: JsonPropertyName("format")] string Format,
    [property: JsonPropertyName("compression")] string? Compression,
    [property: JsonPropertyName("uuid")] Guid Uuid,
    [property: JsonPropertyName("created")] DateTimeOffset Created,
    [property: JsonPropertyName("config-files")] IReadOnlyList<VmaConfigFileReport> ConfigFiles,
    [property: JsonPropertyName("devices")] IReadOnlyList<VmaDeviceReport> Devices);

/// <summary>A config file stored in a VMA archive.</summary>
internal sealed record VmaConfigFileReport(
    [property: JsonPropertyName("name")] string Name,
    [property: JsonPropertyName("size")] long Size);

/// <summary>A device of a VMA archive; allocated bytes only when the archive could be indexed (not compressed).</summary>
internal sealed record VmaDeviceReport(
    [property: JsonPropertyName("id")] int Id,
    [property: JsonPropertyName("name")] string Name,
    [property: JsonPropertyName("virtual-size")] long VirtualSize,
    [property: JsonPropertyName("allocated-bytes")] long? AllocatedBytes);
