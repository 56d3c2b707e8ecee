using System.Text.Json;
using System.Text.Json.Serialization;

namespace Whitesky.Migration.Replication;

/// <summary>What a replication session has done so far: saved as JSON after each pass, loaded to resume.</summary>
public sealed record ReplicationState
{
    /// <summary>The state file's format version.</summary>
    public int Version { get; init; } = 1;

    /// <summary>The change source's name.</summary>
    public required string Source { get; init; }

    /// <summary>The target's name.</summary>
    public required string Target { get; init; }

    /// <summary>The source's size in bytes.</summary>
    public required long Capacity { get; init; }

    /// <summary>The next pass to run (0 until the initial sync was committed).</summary>
    public int NextPass { get; init; }

    /// <summary>Every committed pass, in order.</summary>
    public IReadOnlyList<ReplicationPass> Passes { get; init; } = [];

    /// <summary>Whether the final sync ran (the target holds the source's final content).</summary>
    public bool Finished { get; init; }

    /// <summary>The last committed pass, if any.</summary>
    [JsonIgnore]
    public ReplicationPass? LastPass => Passes.Count == 0 ? null : Passes[^1];

    /// <summary>Reads a state file.</summary>
    /// <exception cref="InvalidDataException">The file is not a replication state.</exception>
    public static async Task<ReplicationState> LoadAsync(string path, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        var stream = File.OpenRead(path);
        await using (stream.ConfigureAwait(false))
        {
            try
            {
                return await JsonSerializer.DeserializeAsync(stream, ReplicationJsonContext.Default.ReplicationState, cancellationToken).ConfigureAwait(false)
                    ?? throw new InvalidDataException($"The replication state {path} is empty.");
            }
            catch (JsonException ex)
            {
                throw new InvalidDataException($"The replication state {path} is not valid JSON: {ex.Message}", ex);
            }
        }
    }

    /// <summary>Writes the state to <paramref name="path"/> (through a temporary file, so a crash leaves the old or the new one).</summary>
    public async Task SaveAsync(string path, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        var temporary = path + ".tmp";
        var stream = File.Create(temporary);
        await using (stream.ConfigureAwait(false))
        {
            await JsonSerializer.SerializeAsync(stream, this, ReplicationJsonContext.Default.ReplicationState, cancellationToken).ConfigureAwait(false);
            await stream.FlushAsync(cancellationToken).ConfigureAwait(false);
            stream.Flush(flushToDisk: true);
        }

        File.Move(temporary, path, overwrite: true);
    }
}

[JsonSerializable(typeof(ReplicationState))]
[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.SnakeCaseLower, WriteIndented = true, UseStringEnumConverter = true)]
internal sealed partial class ReplicationJsonContext : JsonSerializerContext;
