using System.Text.Json;
using System.Text.Json.Serialization;

namespace Whitesky.Api.Models;

/// <summary>Reads and writes a string-valued enumeration as its exact wire string.</summary>
internal sealed class StringEnumJsonConverter<T> : JsonConverter<T> where T : struct, IStringEnum<T>
{
    public override T Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options)
    {
        if (reader.TokenType != JsonTokenType.String)
        {
            throw new JsonException($"{typeof(T).Name} expects a JSON string, got {reader.TokenType}.");
        }

        return T.FromValue(reader.GetString()!);
    }

    public override void Write(Utf8JsonWriter writer, T value, JsonSerializerOptions options)
    {
        ArgumentNullException.ThrowIfNull(writer);
        writer.WriteStringValue(value.Value);
    }
}
