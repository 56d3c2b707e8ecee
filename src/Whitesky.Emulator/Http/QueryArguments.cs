using System.Globalization;
using Microsoft.AspNetCore.Http;

namespace Whitesky.Emulator.Http;

/// <summary>
/// Reads an operation's query parameters the way the platform (flask-restx request parsers) does: a missing
/// required one, a value of the wrong type or outside its enumeration is answered 400 with
/// <c>{"message": "Input payload validation failed", "errors": {name: problem}}</c>.
/// </summary>
internal sealed class QueryArguments
{
    private const string MissingInQuery = "Missing required parameter in the query string";
    private readonly IQueryCollection _query;

    public QueryArguments(IQueryCollection query)
    {
        _query = query;
    }

    private string? Raw(string name)
    {
        if (!_query.TryGetValue(name, out var values) || values.Count == 0)
        {
            return null;
        }

        return values[^1];
    }

    public bool Has(string name) => Raw(name) is not null;

    public string RequiredString(string name, IReadOnlyCollection<string>? choices = null) =>
        String(name, choices) ?? throw ApiError.Argument(name, MissingInQuery);

    public string? String(string name, IReadOnlyCollection<string>? choices = null)
    {
        var value = Raw(name);
        if (value is not null && choices is not null && !choices.Contains(value))
        {
            throw ApiError.Argument(name, $"The value '{value}' is not a valid choice for '{name}'.");
        }

        return value;
    }

    public int RequiredInt(string name) => Int(name) ?? throw ApiError.Argument(name, MissingInQuery);

    public int? Int(string name)
    {
        var value = Raw(name);
        if (value is null)
        {
            return null;
        }

        if (!int.TryParse(value, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var result))
        {
            throw ApiError.Argument(name, $"invalid literal for int() with base 10: '{value}'");
        }

        return result;
    }

    public double? Number(string name)
    {
        var value = Raw(name);
        if (value is null)
        {
            return null;
        }

        if (!double.TryParse(value, NumberStyles.Float, CultureInfo.InvariantCulture, out var result) || !double.IsFinite(result))
        {
            throw ApiError.Argument(name, $"could not convert string to float: '{value}'");
        }

        return result;
    }

    public bool Bool(string name, bool defaultValue)
    {
        var value = Raw(name);
        if (value is null)
        {
            return defaultValue;
        }

        return value.ToUpperInvariant() switch
        {
            "TRUE" or "1" or "ON" => true,
            "FALSE" or "0" or "OFF" or "" => false,
            _ => throw ApiError.Argument(name, $"Invalid literal for boolean(): {value}"),
        };
    }

    /// <summary>A <c>collectionFormat: csv</c> array of integers (repeated parameters are accepted too).</summary>
    public IReadOnlyList<int> IntList(string name)
    {
        if (!_query.TryGetValue(name, out var values))
        {
            return [];
        }

        var result = new List<int>();
        foreach (var value in values)
        {
            foreach (var item in (value ?? string.Empty).Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
            {
                if (!int.TryParse(item, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var number))
                {
                    throw ApiError.Argument(name, $"invalid literal for int() with base 10: '{item}'");
                }

                result.Add(number);
            }
        }

        return result;
    }
}
