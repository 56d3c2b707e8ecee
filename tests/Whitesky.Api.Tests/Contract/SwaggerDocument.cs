using System.Text.Json;

namespace Whitesky.Api.Tests.Contract;

/// <summary>The platform's swagger (shared/whitesky-api/whitesky-api.swagger.json beside the repository) and its README's operation list.</summary>
public sealed class SwaggerDocument
{
    private const string RelativeFolder = "shared/whitesky-api";

    private SwaggerDocument(string folder)
    {
        Folder = folder;
        Root = JsonDocument.Parse(File.ReadAllBytes(Path.Combine(folder, "whitesky-api.swagger.json"))).RootElement;
    }

    public string Folder { get; }

    public JsonElement Root { get; }

    public static SwaggerDocument Load()
    {
        var overridden = Environment.GetEnvironmentVariable("WHITESKY_SWAGGER_DIR");
        if (!string.IsNullOrEmpty(overridden))
        {
            return new SwaggerDocument(overridden);
        }

        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            var candidate = Path.Combine(dir.FullName, RelativeFolder);
            if (File.Exists(Path.Combine(candidate, "whitesky-api.swagger.json")))
            {
                return new SwaggerDocument(candidate);
            }
        }

        throw new FileNotFoundException($"{RelativeFolder}/whitesky-api.swagger.json was not found above {AppContext.BaseDirectory} (set WHITESKY_SWAGGER_DIR).");
    }

    /// <summary>The operation at a path and method, or null.</summary>
    public JsonElement? Operation(string method, string path)
    {
        if (Root.GetProperty("paths").TryGetProperty(path, out var item) && item.TryGetProperty(method.ToLowerInvariant(), out var op))
        {
            return op;
        }

        return null;
    }

    /// <summary>The parameters of an operation (path-level ones included), without the X-Fields header mask.</summary>
    public IReadOnlyList<JsonElement> Parameters(string method, string path)
    {
        var item = Root.GetProperty("paths").GetProperty(path);
        var list = new List<JsonElement>();
        if (item.TryGetProperty("parameters", out var shared))
        {
            list.AddRange(shared.EnumerateArray());
        }

        if (item.GetProperty(method.ToLowerInvariant()).TryGetProperty("parameters", out var own))
        {
            list.AddRange(own.EnumerateArray());
        }

        return list.Where(p => p.GetProperty("in").GetString() != "header").ToList();
    }

    public JsonElement? Definition(string name) =>
        Root.GetProperty("definitions").TryGetProperty(name, out var d) ? d : null;

    /// <summary>The operation ids of the README's table of operations the migration paths use.</summary>
    public IReadOnlyList<string> ListedOperationIds() =>
        File.ReadAllLines(Path.Combine(Folder, "README.md"))
            .Where(l => l.StartsWith("| GET ", StringComparison.Ordinal) || l.StartsWith("| POST ", StringComparison.Ordinal)
                        || l.StartsWith("| PUT ", StringComparison.Ordinal) || l.StartsWith("| DELETE ", StringComparison.Ordinal))
            .Select(l => l.Split('|', StringSplitOptions.TrimEntries)[3])
            .ToList();
}
