using System.Text.Json.Serialization;

namespace Whitesky.Migrate.Info;

/// <summary>One run of an extent map, as <c>nbdinfo --map</c> prints it.</summary>
/// <param name="Offset">Start of the run in bytes.</param>
/// <param name="Length">Length of the run in bytes.</param>
/// <param name="Type">The meta context's flags for the run.</param>
/// <param name="Description">The flags in words ("hole,zero", "data", "dirty", "clean"), or null when the context's flags have no names.</param>
internal sealed record ExtentMapEntry(
    [property: JsonPropertyName("offset")] long Offset,
    [property: JsonPropertyName("length")] long Length,
    [property: JsonPropertyName("type")] uint Type,
    [property: JsonPropertyName("description"), JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] string? Description);
