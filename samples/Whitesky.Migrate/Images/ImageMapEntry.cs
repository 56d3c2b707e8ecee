using System.Text.Json.Serialization;

namespace Whitesky.Migrate.Images;

/// <summary>One run of an image's map, in the shape of <c>qemu-img map --output=json</c>.</summary>
internal sealed record ImageMapEntry(
    [property: JsonPropertyName("start")] long Start,
    [property: JsonPropertyName("length")] long Length,
    [property: JsonPropertyName("depth")] int Depth,
    [property: JsonPropertyName("present")] bool Present,
    [property: JsonPropertyName("zero")] bool Zero,
    [property: JsonPropertyName("data")] bool Data);
