using System.Collections;
using System.Reflection;
using System.Text.Json;
using System.Text.Json.Serialization;
using System.Text.RegularExpressions;
using Refit;
using Whitesky.Api.Apis;
using Whitesky.Api.Models;

namespace Whitesky.Api.Tests.Contract;

/// <summary>
/// Compares what the client sends and reads (found by reflection over the Refit interfaces and the models) with the
/// swagger: routes, methods, operation ids, parameter names, places, required-ness and types, bodies, answers, and
/// every model property. Returns the mismatches; an empty list means the client only uses what the swagger has.
/// </summary>
public static partial class ContractChecker
{
    private static readonly NullabilityInfoContext Nullability = new();

    public static IReadOnlyList<string> CheckInterface(Type api, SwaggerDocument swagger)
    {
        var problems = new List<string>();
        foreach (var method in api.GetMethods())
        {
            var where = $"{api.Name}.{method.Name}";
            var http = method.GetCustomAttribute<HttpMethodAttribute>();
            if (http is null)
            {
                problems.Add($"{where}: no Refit HTTP attribute");
                continue;
            }

            var verb = http.Method.Method;
            var op = swagger.Operation(verb, http.Path);
            if (op is null)
            {
                problems.Add($"{where}: {verb} {http.Path} is not in the swagger");
                continue;
            }

            var operationId = method.GetCustomAttribute<WhiteskyOperationAttribute>()?.OperationId;
            var swaggerId = op.Value.GetProperty("operationId").GetString();
            if (operationId != swaggerId)
            {
                problems.Add($"{where}: operation id '{operationId}' but the swagger says '{swaggerId}'");
            }

            var parameters = swagger.Parameters(verb, http.Path).ToDictionary(p => p.GetProperty("name").GetString()!, StringComparer.Ordinal);
            var used = new HashSet<string>(StringComparer.Ordinal);
            var routeNames = RoutePlaceholder().Matches(http.Path).Select(m => m.Groups[1].Value).ToHashSet(StringComparer.Ordinal);
            foreach (var parameter in method.GetParameters())
            {
                if (parameter.ParameterType == typeof(CancellationToken))
                {
                    continue;
                }

                if (parameter.GetCustomAttribute<BodyAttribute>() is not null)
                {
                    CheckBody(where, parameter, op.Value, parameters, problems, used);
                    continue;
                }

                if (parameter.GetCustomAttribute<QueryAttribute>() is not null && IsQueryObject(parameter.ParameterType))
                {
                    foreach (var property in parameter.ParameterType.GetProperties())
                    {
                        var name = property.GetCustomAttribute<AliasAsAttribute>()?.Name ?? property.Name;
                        var required = property.GetCustomAttribute<System.Runtime.CompilerServices.RequiredMemberAttribute>() is not null && !IsNullable(property);
                        CheckParameter($"{where}({parameter.Name}.{property.Name})", name, "query", required, property.PropertyType,
                            property.GetCustomAttribute<QueryAttribute>(), parameters, problems, used);
                    }

                    continue;
                }

                var wireName = parameter.GetCustomAttribute<AliasAsAttribute>()?.Name ?? parameter.Name!;
                var place = routeNames.Contains(wireName) ? "path" : "query";
                var isRequired = !IsNullable(parameter) && !parameter.HasDefaultValue;
                CheckParameter($"{where}({parameter.Name})", wireName, place, isRequired, parameter.ParameterType,
                    parameter.GetCustomAttribute<QueryAttribute>(), parameters, problems, used);
            }

            foreach (var (name, p) in parameters)
            {
                if (p.TryGetProperty("required", out var r) && r.GetBoolean() && !used.Contains(name))
                {
                    problems.Add($"{where}: the swagger requires '{name}' ({p.GetProperty("in").GetString()}) but the method does not send it");
                }
            }

            CheckAnswer(where, method.ReturnType, op.Value, problems);
        }

        return problems;
    }

    public static IReadOnlyList<string> CheckModel(Type model, SwaggerDocument swagger)
    {
        var problems = new List<string>();
        var definitionName = model.GetCustomAttribute<SwaggerDefinitionAttribute>()?.Name;
        if (definitionName is null)
        {
            return [$"{model.Name}: no [SwaggerDefinition]"];
        }

        var definition = swagger.Definition(definitionName);
        if (definition is null)
        {
            return [$"{model.Name}: definition '{definitionName}' is not in the swagger"];
        }

        var swaggerProperties = definition.Value.TryGetProperty("properties", out var props)
            ? props.EnumerateObject().ToDictionary(p => p.Name, p => p.Value, StringComparer.Ordinal)
            : [];
        var required = definition.Value.TryGetProperty("required", out var req)
            ? req.EnumerateArray().Select(e => e.GetString()!).ToHashSet(StringComparer.Ordinal)
            : [];
        var seen = new HashSet<string>(StringComparer.Ordinal);
        foreach (var property in model.GetProperties(BindingFlags.Public | BindingFlags.Instance))
        {
            var name = property.GetCustomAttribute<JsonPropertyNameAttribute>()?.Name;
            if (name is null)
            {
                problems.Add($"{model.Name}.{property.Name}: no [JsonPropertyName]");
                continue;
            }

            var where = $"{model.Name}.{property.Name} ('{name}')";
            if (!swaggerProperties.TryGetValue(name, out var schema))
            {
                problems.Add($"{where}: '{definitionName}' has no property '{name}'");
                continue;
            }

            seen.Add(name);
            var isRequired = property.GetCustomAttribute<System.Runtime.CompilerServices.RequiredMemberAttribute>() is not null && !IsNullable(property);
            if (isRequired != required.Contains(name))
            {
                problems.Add($"{where}: required in C# is {isRequired}, in the swagger {required.Contains(name)}");
            }

            CheckType(where, property.PropertyType, schema, problems);
        }

        problems.AddRange(swaggerProperties.Keys.Where(k => !seen.Contains(k)).Select(k => $"{model.Name}: '{definitionName}.{k}' has no C# property"));
        return problems;
    }

    private static void CheckParameter(
        string where, string name, string place, bool required, Type type, QueryAttribute? query,
        Dictionary<string, JsonElement> parameters, List<string> problems, HashSet<string> used)
    {
        if (!parameters.TryGetValue(name, out var p))
        {
            problems.Add($"{where}: the swagger has no parameter '{name}'");
            return;
        }

        used.Add(name);
        var swaggerPlace = p.GetProperty("in").GetString();
        if (swaggerPlace != place)
        {
            problems.Add($"{where}: '{name}' is sent in the {place} but the swagger has it in the {swaggerPlace}");
        }

        var swaggerRequired = p.TryGetProperty("required", out var r) && r.GetBoolean();
        if (swaggerRequired != required)
        {
            problems.Add($"{where}: '{name}' required in C# is {required}, in the swagger {swaggerRequired}");
        }

        CheckType(where, type, p, problems);
        if (p.TryGetProperty("collectionFormat", out var format) && format.GetString() == "csv"
            && (query is null || !query.IsCollectionFormatSpecified || query.CollectionFormat != CollectionFormat.Csv))
        {
            problems.Add($"{where}: '{name}' is a csv array in the swagger but is not sent as CollectionFormat.Csv");
        }
    }

    private static void CheckBody(string where, ParameterInfo parameter, JsonElement op, Dictionary<string, JsonElement> parameters, List<string> problems, HashSet<string> used)
    {
        if (parameter.ParameterType == typeof(HttpContent))
        {
            var description = op.TryGetProperty("description", out var d) ? d.GetString() ?? "" : "";
            if (!description.Contains("application/octet-stream", StringComparison.Ordinal))
            {
                problems.Add($"{where}: raw body, but the swagger does not describe an octet-stream body");
            }

            return;
        }

        var body = parameters.Values.FirstOrDefault(p => p.GetProperty("in").GetString() == "body");
        if (body.ValueKind == JsonValueKind.Undefined)
        {
            problems.Add($"{where}: sends a body but the swagger has no body parameter");
            return;
        }

        used.Add(body.GetProperty("name").GetString()!);
        var expected = RefName(body.GetProperty("schema"));
        var actual = parameter.ParameterType.GetCustomAttribute<SwaggerDefinitionAttribute>()?.Name;
        if (expected != actual)
        {
            problems.Add($"{where}: body is '{actual}' but the swagger's is '{expected}'");
        }
    }

    private static void CheckAnswer(string where, Type returnType, JsonElement op, List<string> problems)
    {
        var answer = returnType.IsGenericType && returnType.GetGenericTypeDefinition() == typeof(Task<>) ? returnType.GetGenericArguments()[0] : null;
        var ok = op.GetProperty("responses").GetProperty("200");
        var schema = ok.TryGetProperty("schema", out var s) ? s : (JsonElement?)null;
        if (answer == typeof(HttpResponseMessage))
        {
            if (schema is not null)
            {
                problems.Add($"{where}: the swagger describes the answer, so it should be read as a model");
            }

            return;
        }

        if (schema is null)
        {
            problems.Add($"{where}: reads {answer?.Name ?? "nothing"} but the swagger describes no answer");
            return;
        }

        if (answer == typeof(string))
        {
            if (schema.Value.TryGetProperty("type", out var t) && t.GetString() == "string")
            {
                return;
            }

            problems.Add($"{where}: reads a string but the swagger's answer is not one");
            return;
        }

        var expected = RefName(schema.Value);
        var actual = answer?.GetCustomAttribute<SwaggerDefinitionAttribute>()?.Name;
        if (expected != actual)
        {
            problems.Add($"{where}: answer is read as '{actual}' but the swagger's is '{expected}'");
        }
    }

    private static void CheckType(string where, Type type, JsonElement schema, List<string> problems)
    {
        type = Nullable.GetUnderlyingType(type) ?? type;
        if (schema.TryGetProperty("allOf", out var allOf) && allOf.GetArrayLength() == 1)
        {
            schema = allOf[0];
        }

        if (schema.TryGetProperty("$ref", out _))
        {
            var expected = RefName(schema);
            var actual = type.GetCustomAttribute<SwaggerDefinitionAttribute>()?.Name;
            if (expected != actual)
            {
                problems.Add($"{where}: type {type.Name} mirrors '{actual}' but the swagger refers to '{expected}'");
            }

            return;
        }

        var swaggerType = schema.GetProperty("type").GetString();
        var ok = swaggerType switch
        {
            "integer" => type == typeof(long) || type == typeof(int),
            "number" => type == typeof(double),
            "boolean" => type == typeof(bool),
            "string" => type == typeof(string) || IsStringEnum(type),
            "array" => type != typeof(string) && typeof(IEnumerable).IsAssignableFrom(type),
            "object" => false,
            _ => false,
        };
        if (!ok)
        {
            problems.Add($"{where}: C# type {type.Name} does not fit swagger type '{swaggerType}'");
            return;
        }

        if (swaggerType == "array")
        {
            var element = type.IsArray ? type.GetElementType()! : type.GetGenericArguments().Single();
            CheckType(where + "[]", element, schema.GetProperty("items"), problems);
        }

        if (IsStringEnum(type) && schema.TryGetProperty("enum", out var values))
        {
            var known = ((IEnumerable)type.GetProperty("Known")!.GetValue(null)!).Cast<object>().Select(v => v.ToString()).ToArray();
            var swaggerValues = values.EnumerateArray().Select(v => v.GetString()).ToArray();
            if (!known.SequenceEqual(swaggerValues))
            {
                problems.Add($"{where}: {type.Name}.Known [{string.Join(", ", known)}] differs from the swagger's enum [{string.Join(", ", swaggerValues)}]");
            }
        }
    }

    private static bool IsStringEnum(Type type) =>
        type.IsValueType && type.GetInterfaces().Any(i => i.IsGenericType && i.GetGenericTypeDefinition() == typeof(IStringEnum<>));

    private static bool IsQueryObject(Type type) =>
        type.IsClass && type != typeof(string) && !typeof(IEnumerable).IsAssignableFrom(type);

    private static bool IsNullable(ParameterInfo parameter) =>
        Nullable.GetUnderlyingType(parameter.ParameterType) is not null
        || (!parameter.ParameterType.IsValueType && Nullability.Create(parameter).WriteState != NullabilityState.NotNull);

    private static bool IsNullable(PropertyInfo property) =>
        Nullable.GetUnderlyingType(property.PropertyType) is not null
        || (!property.PropertyType.IsValueType && Nullability.Create(property).ReadState != NullabilityState.NotNull);

    private static string? RefName(JsonElement schema) =>
        schema.TryGetProperty("$ref", out var r) ? r.GetString()!.Split('/')[^1] : null;

    [GeneratedRegex(@"\{([^}]+)\}")]
    private static partial Regex RoutePlaceholder();
}
