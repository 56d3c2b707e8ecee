using System.Buffers;
using System.Globalization;
using System.Security.Cryptography;
using System.Text.Json;
using System.Text.Json.Serialization;
using Microsoft.Win32.SafeHandles;
using Whitesky.Api;
using Whitesky.Api.Models;

namespace Whitesky.Migration.Paths.Recovery;

/// <summary>
/// Uploads an ISO file through the CD-ROM multipart API with parts in parallel, and resumes an interrupted upload
/// from a checkpoint file: a part is sent again only when the checkpoint lacks it or its recorded ETag is an MD5 that
/// no longer matches the file (the platform answers S3-style ETags, the MD5 of the part).
/// </summary>
internal sealed class CdromIsoUploader(WhiteskyClient client, string customer, string location)
{
    private const long MaxPartSize = 1L << 30;
    private const long MaxCheckpointLength = 4L << 20;

    public async Task<(long CdromId, IsoUploadSummary Summary)> UploadAsync(string isoPath, string name, OsType osType, OsName osName, string? checkpointPath,
        int parallelism, Action<long> uploaded, CancellationToken cancellationToken)
    {
        using var file = File.OpenHandle(isoPath, FileMode.Open, FileAccess.Read, FileShare.Read, FileOptions.Asynchronous);
        var length = RandomAccess.GetLength(file);
        if (length == 0)
        {
            throw new RecoveryBootException($"The ISO {isoPath} is empty.");
        }

        var fileName = Path.GetFileName(isoPath);
        var checkpoint = await LoadAsync(checkpointPath, fileName, length, cancellationToken).ConfigureAwait(false);
        if (checkpoint is null)
        {
            var upload = await client.CdromImages.CreateCdromUploadAsync(customer, location, fileName, cancellationToken).ConfigureAwait(false);
            if (upload.PartSize is < 1 or > MaxPartSize || string.IsNullOrEmpty(upload.UploadId) || string.IsNullOrEmpty(upload.ObjectName))
            {
                throw new RecoveryBootException(string.Create(CultureInfo.InvariantCulture,
                    $"The platform answered an unusable CD-ROM upload (part_size {upload.PartSize}, allowed 1..{MaxPartSize}; upload_id and object_name must be set)."));
            }

            checkpoint = new CdromUploadCheckpoint(fileName, length, upload.UploadId, upload.ObjectName, upload.PartSize, []);
            await SaveAsync(checkpointPath, checkpoint, cancellationToken).ConfigureAwait(false);
        }

        var partSize = (int)checkpoint.PartSize;
        var partCount = (int)((length + partSize - 1) / partSize);
        var known = checkpoint.Parts.Where(p => p.PartNumber >= 1 && p.PartNumber <= partCount).ToDictionary(p => p.PartNumber, p => p.Etag);
        var done = new CdromUploadedPart[partCount];
        var saveLock = new SemaphoreSlim(1, 1);
        var sent = 0;
        var resumed = 0;
        using var slots = new SemaphoreSlim(parallelism, parallelism);
        using var failed = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        var tasks = new List<Task>(partCount);
        try
        {
        for (var number = 1; number <= partCount; number++)
        {
            await slots.WaitAsync(failed.Token).ConfigureAwait(false);
            var part = number;
            tasks.Add(Task.Run(async () =>
            {
                try
                {
                    var offset = (long)(part - 1) * partSize;
                    var size = (int)Math.Min(partSize, length - offset);
                    var buffer = ArrayPool<byte>.Shared.Rent(size);
                    try
                    {
                        await ReadExactlyAsync(file, offset, buffer.AsMemory(0, size), failed.Token).ConfigureAwait(false);
                        var md5 = Convert.ToHexStringLower(MD5.HashData(buffer.AsSpan(0, size)));
                        string etag;
                        if (known.TryGetValue(part, out var recorded) && (!IsMd5(recorded) || Unquote(recorded) == md5))
                        {
                            etag = recorded;
                            Interlocked.Increment(ref resumed);
                        }
                        else
                        {
                            etag = await SendPartAsync(checkpoint, part, buffer, size, md5, failed.Token).ConfigureAwait(false);
                            Interlocked.Increment(ref sent);
                        }

                        done[part - 1] = new CdromUploadedPart { PartNumber = part, Etag = etag };
                        uploaded(size);
                        await saveLock.WaitAsync(CancellationToken.None).ConfigureAwait(false);
                        try
                        {
                            checkpoint = checkpoint with { Parts = [.. done.Where(p => p is not null).Select(p => new CdromUploadCheckpointPart((int)p.PartNumber, p.Etag))] };
                            await SaveAsync(checkpointPath, checkpoint, CancellationToken.None).ConfigureAwait(false);
                        }
                        finally
                        {
                            saveLock.Release();
                        }
                    }
                    finally
                    {
                        ArrayPool<byte>.Shared.Return(buffer);
                    }
                }
                catch
                {
                    await failed.CancelAsync().ConfigureAwait(false);
                    throw;
                }
                finally
                {
                    slots.Release();
                }
            }, CancellationToken.None));
        }

            await Task.WhenAll(tasks).ConfigureAwait(false);
        }
        catch (Exception ex)
        {
            // Every part settles before the buffers and the lock go; a part's own error beats the cancellation it caused.
            await Task.WhenAll(tasks.Select(t => t.ContinueWith(static _ => { }, CancellationToken.None, TaskContinuationOptions.None, TaskScheduler.Default))).ConfigureAwait(false);
            var cause = cancellationToken.IsCancellationRequested ? ex
                : tasks.Select(t => t.Exception?.InnerException).FirstOrDefault(e => e is not null and not OperationCanceledException) ?? ex;
            System.Runtime.ExceptionServices.ExceptionDispatchInfo.Capture(cause).Throw();
        }
        finally
        {
            saveLock.Dispose();
        }

        using var response = await client.CdromImages.FinishCdromUploadAsync(customer, location, checkpoint.UploadId, name, osType, osName,
            new CdromUploadCompletion { ObjectName = checkpoint.ObjectName, UploadedParts = done }, cancellationToken).ConfigureAwait(false);
        var body = await response.Content.ReadAsStringAsync(cancellationToken).ConfigureAwait(false);
        var cdromId = ReadCdromId(body) ?? throw new RecoveryBootException(
            $"The platform finished the CD-ROM upload {checkpoint.UploadId} without naming the new image's id; find it in the portal and pass it as the CD-ROM id.");
        if (checkpointPath is not null)
        {
            File.Delete(checkpointPath);
        }

        return (cdromId, new IsoUploadSummary(length, partSize, partCount, sent, resumed));
    }

    private async Task<string> SendPartAsync(CdromUploadCheckpoint checkpoint, int part, byte[] buffer, int size, string md5, CancellationToken cancellationToken)
    {
        using var content = new ByteArrayContent(buffer, 0, size);
        content.Headers.ContentType = new System.Net.Http.Headers.MediaTypeHeaderValue("application/octet-stream");
        using var response = await client.CdromImages.UploadCdromPartAsync(customer, location, checkpoint.UploadId,
            part.ToString(CultureInfo.InvariantCulture), checkpoint.ObjectName, content, cancellationToken).ConfigureAwait(false);
        var etag = response.Headers.ETag?.Tag ?? (response.Headers.TryGetValues("ETag", out var values) ? values.FirstOrDefault() : null);
        if (string.IsNullOrEmpty(etag))
        {
            throw new RecoveryBootException(string.Create(CultureInfo.InvariantCulture, $"Part {part} of the ISO upload {checkpoint.UploadId} was accepted without an ETag."));
        }

        if (IsMd5(etag) && Unquote(etag) != md5)
        {
            throw new RecoveryBootException(string.Create(CultureInfo.InvariantCulture,
                $"Part {part} of the ISO upload {checkpoint.UploadId} arrived damaged: the platform's MD5 {Unquote(etag)} differs from the file's {md5}."));
        }

        return etag;
    }

    private static string Unquote(string etag) => etag.Trim('"').ToLowerInvariant();

    private static bool IsMd5(string etag)
    {
        var value = Unquote(etag);
        return value.Length == 32 && value.All(char.IsAsciiHexDigit);
    }

    private static long? ReadCdromId(string body)
    {
        try
        {
            using var doc = JsonDocument.Parse(body);
            var root = doc.RootElement;
            if (root.ValueKind == JsonValueKind.Number && root.TryGetInt64(out var bare))
            {
                return bare;
            }

            foreach (var property in (string[])["cdrom_id", "image_id"])
            {
                if (root.ValueKind == JsonValueKind.Object && root.TryGetProperty(property, out var id) && id.TryGetInt64(out var value))
                {
                    return value;
                }
            }
        }
        catch (JsonException)
        {
            // Not JSON: no id.
        }

        return null;
    }

    private static async Task<CdromUploadCheckpoint?> LoadAsync(string? path, string fileName, long length, CancellationToken cancellationToken)
    {
        if (path is null || !File.Exists(path))
        {
            return null;
        }

        if (new FileInfo(path).Length > MaxCheckpointLength)
        {
            throw new RecoveryBootException($"The upload checkpoint {path} is larger than {MaxCheckpointLength} bytes; it is not a checkpoint. Delete it to start over.");
        }

        CdromUploadCheckpoint? checkpoint;
        try
        {
            var stream = File.OpenRead(path);
            await using (stream.ConfigureAwait(false))
            {
                checkpoint = await JsonSerializer.DeserializeAsync(stream, CdromCheckpointJsonContext.Default.CdromUploadCheckpoint, cancellationToken).ConfigureAwait(false);
            }
        }
        catch (JsonException ex)
        {
            throw new RecoveryBootException($"The upload checkpoint {path} is not a checkpoint ({ex.Message}); delete it to start over.", ex);
        }

        // Another file, or a changed one, starts a new upload.
        return checkpoint is not null && checkpoint.FileName == fileName && checkpoint.FileLength == length
               && checkpoint.PartSize is >= 1 and <= MaxPartSize && !string.IsNullOrEmpty(checkpoint.UploadId) && !string.IsNullOrEmpty(checkpoint.ObjectName)
            ? checkpoint with { Parts = checkpoint.Parts ?? [] }
            : null;
    }

    private static async Task SaveAsync(string? path, CdromUploadCheckpoint checkpoint, CancellationToken cancellationToken)
    {
        if (path is null)
        {
            return;
        }

        var temporary = path + ".tmp";
        var stream = new FileStream(temporary, FileMode.Create, FileAccess.Write, FileShare.None);
        await using (stream.ConfigureAwait(false))
        {
            await JsonSerializer.SerializeAsync(stream, checkpoint, CdromCheckpointJsonContext.Default.CdromUploadCheckpoint, cancellationToken).ConfigureAwait(false);
        }

        File.Move(temporary, path, overwrite: true);
    }

    private static async ValueTask ReadExactlyAsync(SafeFileHandle file, long offset, Memory<byte> buffer, CancellationToken cancellationToken)
    {
        while (!buffer.IsEmpty)
        {
            var read = await RandomAccess.ReadAsync(file, buffer, offset, cancellationToken).ConfigureAwait(false);
            if (read == 0)
            {
                throw new RecoveryBootException(string.Create(CultureInfo.InvariantCulture, $"The ISO became shorter while it was uploaded (nothing at byte {offset})."));
            }

            buffer = buffer[read..];
            offset += read;
        }
    }
}

[JsonSerializable(typeof(CdromUploadCheckpoint))]
[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase)]
internal sealed partial class CdromCheckpointJsonContext : JsonSerializerContext;
