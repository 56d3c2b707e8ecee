using System.Text.Json.Serialization;
using Whitesky.Migration.Transfer;

namespace Whitesky.Migrate.Copy;

[JsonSerializable(typeof(TransferSummary))]
[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase, WriteIndented = true)]
internal sealed partial class CopyJsonContext : JsonSerializerContext;
