using System.Text.Json.Serialization;

namespace Whitesky.Migrate.Images;

/// <summary>Source-generated JSON for the image commands.</summary>
[JsonSourceGenerationOptions(WriteIndented = true, DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull)]
[JsonSerializable(typeof(ImageReport))]
[JsonSerializable(typeof(IReadOnlyList<ImageMapEntry>))]
[JsonSerializable(typeof(VmaArchiveReport))]
internal sealed partial class ImagesJsonContext : JsonSerializerContext;
