using System.Text.Json.Serialization;

namespace Whitesky.Migrate.Info;

/// <summary>Source-generated JSON for <c>nbd info --json</c>.</summary>
[JsonSourceGenerationOptions(WriteIndented = true)]
[JsonSerializable(typeof(ExportReport))]
[JsonSerializable(typeof(IReadOnlyList<ExtentMapEntry>))]
internal sealed partial class InfoJsonContext : JsonSerializerContext;
