using System.Text.Json;
using System.Text.Json.Serialization;
using Whitesky.Migration.S3;

namespace Whitesky.Migrate.OvfImport;

/// <summary>The package and the S3 part list of an interrupted upload, kept in a JSON file between runs of <c>import ovf</c>.</summary>
internal sealed record UploadCheckpointFile(string Package, S3UploadCheckpoint Checkpoint)
{
    public static async Task<UploadCheckpointFile> ReadAsync(string path, CancellationToken cancellationToken)
    {
        await using var stream = File.OpenRead(path);
        return await JsonSerializer.DeserializeAsync(stream, UploadCheckpointJsonContext.Default.UploadCheckpointFile, cancellationToken)
               ?? throw new Cli.CommandFailedException($"{path} holds no upload checkpoint");
    }

    public static async Task WriteAsync(string path, string package, S3UploadCheckpoint checkpoint, CancellationToken cancellationToken)
    {
        await using var stream = File.Create(path);
        await JsonSerializer.SerializeAsync(stream, new UploadCheckpointFile(package, checkpoint), UploadCheckpointJsonContext.Default.UploadCheckpointFile, cancellationToken);
    }
}

[JsonSerializable(typeof(UploadCheckpointFile))]
[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase, WriteIndented = true)]
internal sealed partial class UploadCheckpointJsonContext : JsonSerializerContext;
