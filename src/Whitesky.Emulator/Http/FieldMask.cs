using System.Text.Json.Nodes;

namespace Whitesky.Emulator.Http;

/// <summary>
/// flask-restx's response masks, the <c>X-Fields</c> header every operation of the swagger accepts:
/// <c>{disk_id,status}</c> or <c>disk_id,status</c> keeps those properties; <c>result{disk_id}</c> applies a
/// nested mask to an object or to each item of an array; <c>*</c> keeps every other property.
/// </summary>
internal sealed class FieldMask
{
    /// <summary>Longest mask accepted (a header is small; this bounds the parser's work).</summary>
    private const int MaxLength = 4096;

    /// <summary>Deepest nesting accepted.</summary>
    private const int MaxDepth = 32;

    private readonly Dictionary<string, FieldMask?> _fields;
    private readonly bool _wildcard;

    private FieldMask(Dictionary<string, FieldMask?> fields, bool wildcard)
    {
        _fields = fields;
        _wildcard = wildcard;
    }

    /// <exception cref="ApiError">400: the mask cannot be parsed.</exception>
    public static FieldMask Parse(string text)
    {
        if (text.Length > MaxLength)
        {
            throw Invalid("it is too long");
        }

        var trimmed = text.Trim();
        var position = 0;
        var mask = trimmed.StartsWith('{') ? ParseGroup(trimmed, ref position, 0) : ParseFields(trimmed, ref position, 0, closing: false);
        SkipSpaces(trimmed, ref position);
        return position == trimmed.Length ? mask : throw Invalid($"unexpected '{trimmed[position]}' at {position}");
    }

    private static FieldMask ParseGroup(string text, ref int position, int depth)
    {
        if (depth > MaxDepth)
        {
            throw Invalid("it is nested too deeply");
        }

        position++; // '{'
        var mask = ParseFields(text, ref position, depth, closing: true);
        if (position >= text.Length || text[position] != '}')
        {
            throw Invalid("a '{' is not closed");
        }

        position++;
        return mask;
    }

    private static FieldMask ParseFields(string text, ref int position, int depth, bool closing)
    {
        var fields = new Dictionary<string, FieldMask?>(StringComparer.Ordinal);
        var wildcard = false;
        while (true)
        {
            SkipSpaces(text, ref position);
            var start = position;
            while (position < text.Length && text[position] is not (',' or '{' or '}') && !char.IsWhiteSpace(text[position]))
            {
                position++;
            }

            var name = text[start..position];
            if (name.Length == 0)
            {
                throw Invalid(position < text.Length ? $"a field name is missing at {position}" : "it ends where a field name should be");
            }

            SkipSpaces(text, ref position);
            FieldMask? nested = null;
            if (position < text.Length && text[position] == '{')
            {
                nested = ParseGroup(text, ref position, depth + 1);
                SkipSpaces(text, ref position);
            }

            if (name == "*")
            {
                wildcard = true;
            }
            else
            {
                fields[name] = nested;
            }

            if (position < text.Length && text[position] == ',')
            {
                position++;
                continue;
            }

            if (position >= text.Length || (closing && text[position] == '}'))
            {
                return new FieldMask(fields, wildcard);
            }

            throw Invalid($"unexpected '{text[position]}' at {position}");
        }
    }

    private static void SkipSpaces(string text, ref int position)
    {
        while (position < text.Length && char.IsWhiteSpace(text[position]))
        {
            position++;
        }
    }

    private static ApiError Invalid(string why) => new(400, "Mask parse error: " + why);

    /// <summary>Applies the mask to a serialized answer (objects are filtered, arrays item by item, other values kept).</summary>
    public JsonNode? Apply(JsonNode? node)
    {
        switch (node)
        {
            case JsonArray array:
                var items = new JsonArray();
                foreach (var item in array)
                {
                    items.Add(Apply(item?.DeepClone()));
                }

                return items;
            case JsonObject obj:
                var result = new JsonObject();
                foreach (var (name, value) in obj)
                {
                    if (_fields.TryGetValue(name, out var nested))
                    {
                        result[name] = nested is null ? value?.DeepClone() : nested.Apply(value?.DeepClone());
                    }
                    else if (_wildcard)
                    {
                        result[name] = value?.DeepClone();
                    }
                }

                return result;
            default:
                return node;
        }
    }
}
