using System.Text.Json;
using System.Text.RegularExpressions;

namespace Whitesky.Emulator.Tests;

/// <summary>
/// The platform's swagger (<c>../shared/whitesky-api/whitesky-api.swagger.json</c> next to the repository, or
/// <c>WHITESKY_API_SWAGGER</c>) and the SDK's operation list (the README's table beside it).
/// </summary>
internal sealed partial class SwaggerContract
{
    private static readonly Lazy<SwaggerContract> Shared = new(Load);
    private readonly JsonElement _root;

    private SwaggerContract(JsonElement root, IReadOnlyList<SwaggerOperation> operations)
    {
        _root = root;
        Operations = operations;
    }

    public static SwaggerContract Instance => Shared.Value;

    /// <summary>The operations of the README's table, as the swagger describes them.</summary>
    public IReadOnlyList<SwaggerOperation> Operations { get; }

    public SwaggerOperation this[string operationId] => Operations.Single(o => o.OperationId == operationId);

    private static SwaggerContract Load()
    {
        var swaggerPath = Environment.GetEnvironmentVariable("WHITESKY_API_SWAGGER") ?? FindShared("whitesky-api.swagger.json");
        var readmePath = Path.Combine(Path.GetDirectoryName(swaggerPath)!, "README.md");
        var root = JsonDocument.Parse(File.ReadAllText(swaggerPath)).RootElement.Clone();
        Assert.Equal("/api/1", root.GetProperty("basePath").GetString());
        var operations = new List<SwaggerOperation>();
        foreach (Match row in TableRow().Matches(File.ReadAllText(readmePath)))
        {
            var method = row.Groups["method"].Value;
            var path = row.Groups["path"].Value;
            var operationId = row.Groups["id"].Value;
            var pathItem = root.GetProperty("paths").GetProperty(path);
            var operation = pathItem.GetProperty(method.ToLowerInvariant());
            Assert.Equal(operationId, operation.GetProperty("operationId").GetString());
            var parameters = new List<SwaggerParameter>();
            foreach (var source in new[] { pathItem, operation })
            {
                if (source.TryGetProperty("parameters", out var list))
                {
                    parameters.AddRange(list.EnumerateArray().Select(p => new SwaggerParameter(
                        p.GetProperty("name").GetString()!,
                        p.GetProperty("in").GetString()!,
                        p.TryGetProperty("required", out var required) && required.GetBoolean(),
                        p.TryGetProperty("type", out var type) ? type.GetString() : null,
                        p.TryGetProperty("enum", out var choices) ? choices.EnumerateArray().Select(c => c.ToString()).ToList() : null)));
                }
            }

            JsonElement? schema = operation.GetProperty("responses").TryGetProperty("200", out var ok) && ok.TryGetProperty("schema", out var s) ? s : null;
            operations.Add(new SwaggerOperation(method, path, operationId, parameters, schema));
        }

        Assert.True(operations.Count >= 30, $"Only {operations.Count} operations were read from {readmePath}");
        return new SwaggerContract(root, operations);
    }

    private static string FindShared(string file)
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "Whitesky.Sdk.sln")))
            {
                var candidate = Path.GetFullPath(Path.Combine(dir.FullName, "..", "shared", "whitesky-api", file));
                if (File.Exists(candidate))
                {
                    return candidate;
                }
            }
        }

        throw new InvalidOperationException($"The swagger '{file}' was not found in ../shared/whitesky-api beside the repository; set WHITESKY_API_SWAGGER.");
    }

    /// <summary>Checks that every property of <paramref name="value"/> is one the schema defines, with the schema's JSON type, recursively.</summary>
    public void CheckShape(JsonElement schema, JsonElement value, string where, List<string> problems)
    {
        if (schema.TryGetProperty("$ref", out var reference))
        {
            schema = Definition(reference.GetString()!);
        }
        else if (schema.TryGetProperty("allOf", out var all))
        {
            foreach (var part in all.EnumerateArray())
            {
                CheckShape(part, value, where, problems);
            }

            return;
        }

        var type = schema.TryGetProperty("type", out var t) ? t.GetString() : schema.TryGetProperty("properties", out _) ? "object" : null;
        switch (type)
        {
            case "object" when value.ValueKind == JsonValueKind.Object:
                if (!schema.TryGetProperty("properties", out var properties))
                {
                    return;
                }

                foreach (var property in value.EnumerateObject())
                {
                    if (!properties.TryGetProperty(property.Name, out var propertySchema))
                    {
                        problems.Add($"{where}.{property.Name} is not in the swagger");
                        continue;
                    }

                    if (property.Value.ValueKind != JsonValueKind.Null)
                    {
                        CheckShape(propertySchema, property.Value, $"{where}.{property.Name}", problems);
                    }
                }

                break;
            case "array" when value.ValueKind == JsonValueKind.Array:
                var index = 0;
                foreach (var item in value.EnumerateArray())
                {
                    CheckShape(schema.GetProperty("items"), item, $"{where}[{index++}]", problems);
                }

                break;
            case "string" when value.ValueKind == JsonValueKind.String:
            case "boolean" when value.ValueKind is JsonValueKind.True or JsonValueKind.False:
            case "number" when value.ValueKind == JsonValueKind.Number:
            case "integer" when value.ValueKind == JsonValueKind.Number && value.TryGetInt64(out _):
            case null:
                break;
            default:
                problems.Add($"{where} is {value.ValueKind}, the swagger says {type}");
                break;
        }
    }

    private JsonElement Definition(string reference) =>
        _root.GetProperty("definitions").GetProperty(reference[(reference.LastIndexOf('/') + 1)..]);

    [GeneratedRegex(@"^\| (?<method>GET|POST|PUT|DELETE) \| `(?<path>[^`]+)` \| (?<id>\w+) \|", RegexOptions.Multiline)]
    private static partial Regex TableRow();
}

internal sealed record SwaggerOperation(string Method, string Path, string OperationId, IReadOnlyList<SwaggerParameter> Parameters, JsonElement? Schema);

internal sealed record SwaggerParameter(string Name, string In, bool Required, string? Type, IReadOnlyList<string>? Choices);
