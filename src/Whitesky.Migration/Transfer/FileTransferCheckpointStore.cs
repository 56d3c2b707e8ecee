using System.Text.Json;
using System.Text.Json.Serialization;

namespace Whitesky.Migration.Transfer;

/// <summary>
/// Keeps one transfer's checkpoint in a small JSON file, replaced atomically (written beside it, then renamed).
/// A file holding another transfer's key is treated as no checkpoint and overwritten on the next save.
/// </summary>
public sealed class FileTransferCheckpointStore : ITransferCheckpointStore
{
    /// <summary>Completed ranges kept at most: far more than a transfer in offset order produces (it merges them).</summary>
    private const int MaxRanges = 1 << 20;

    private const long MaxFileLength = 64L << 20;

    /// <summary>Keeps the checkpoint in <paramref name="path"/>.</summary>
    public FileTransferCheckpointStore(string path)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        Path = System.IO.Path.GetFullPath(path);
    }

    /// <summary>The checkpoint file.</summary>
    public string Path { get; }

    /// <inheritdoc />
    /// <exception cref="TransferException">The file is not a checkpoint.</exception>
    public async ValueTask<TransferCheckpoint?> LoadAsync(string key, CancellationToken cancellationToken = default)
    {
        if (!File.Exists(Path))
        {
            return null;
        }

        CheckpointFile? file;
        try
        {
            if (new FileInfo(Path).Length > MaxFileLength)
            {
                throw new TransferException($"The checkpoint file {Path} is larger than {MaxFileLength} bytes; it is not a checkpoint.");
            }

            var stream = File.OpenRead(Path);
            await using (stream.ConfigureAwait(false))
            {
                file = await JsonSerializer.DeserializeAsync(stream, CheckpointJsonContext.Default.CheckpointFile, cancellationToken).ConfigureAwait(false);
            }
        }
        catch (JsonException ex)
        {
            throw new TransferException($"The checkpoint file {Path} is not a checkpoint ({ex.Message}); delete it to start over.", ex);
        }

        if (file is null || file.Key != key)
        {
            return null;
        }

        if (file.Completed.Count > MaxRanges || file.Completed.Any(pair => pair is not { Length: 2 }))
        {
            throw new TransferException($"The checkpoint file {Path} is malformed; delete it to start over.");
        }

        var ranges = new List<TransferRange>(file.Completed.Count);
        long end = 0;
        foreach (var pair in file.Completed)
        {
            var range = new TransferRange(pair[0], pair[1]);
            if (range.Offset < end || range.Length <= 0 || range.Length > file.TotalBytes - range.Offset)
            {
                throw new TransferException($"The checkpoint file {Path} has overlapping or out-of-range entries; delete it to start over.");
            }

            ranges.Add(range);
            end = range.End;
        }

        return new TransferCheckpoint(file.Key, file.TotalBytes, file.TargetIsZero, ranges);
    }

    /// <inheritdoc />
    public async ValueTask SaveAsync(TransferCheckpoint checkpoint, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(checkpoint);
        var file = new CheckpointFile
        {
            Key = checkpoint.Key,
            TotalBytes = checkpoint.TotalBytes,
            TargetIsZero = checkpoint.TargetIsZero,
            Completed = [.. checkpoint.Completed.Select(r => new[] { r.Offset, r.Length })],
        };
        var temporary = Path + ".tmp";
        var stream = new FileStream(temporary, FileMode.Create, FileAccess.Write, FileShare.None);
        await using (stream.ConfigureAwait(false))
        {
            await JsonSerializer.SerializeAsync(stream, file, CheckpointJsonContext.Default.CheckpointFile, cancellationToken).ConfigureAwait(false);
            stream.Flush(flushToDisk: true);
        }

        File.Move(temporary, Path, overwrite: true);
    }

    /// <inheritdoc />
    public ValueTask DeleteAsync(string key, CancellationToken cancellationToken = default)
    {
        File.Delete(Path);
        return ValueTask.CompletedTask;
    }

    internal sealed class CheckpointFile
    {
        public string Key { get; set; } = string.Empty;

        public long TotalBytes { get; set; }

        public bool TargetIsZero { get; set; }

        /// <summary>[offset, length] pairs.</summary>
        public List<long[]> Completed { get; set; } = [];
    }
}

[JsonSerializable(typeof(FileTransferCheckpointStore.CheckpointFile))]
[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase, WriteIndented = false)]
internal sealed partial class CheckpointJsonContext : JsonSerializerContext;
