using System.Text.Json.Serialization;

namespace Whitesky.Migrate.Images;

/// <summary>What <c>inspect</c> prints about a tar, OVA or compressed file: its wrappers and each disk inside.</summary>
internal sealed record ArchiveReport(
    [property: JsonPropertyName("filename")] string Filename,
    [property: JsonPropertyName("container")] IReadOnlyList<string> Container,
    [property: JsonPropertyName("disks")] IReadOnlyList<ImageReport> Disks);
