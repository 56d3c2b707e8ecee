using System.Buffers;
using System.Collections.Concurrent;
using System.Net;
using System.Security.Cryptography;
using Amazon.Runtime;
using Amazon.S3;
using Amazon.S3.Model;

namespace Whitesky.Migration.S3;

/// <summary>
/// Uploads files to S3-compatible storage as multipart uploads: parts in parallel, each sent with its
/// Content-MD5 and its ETag checked against the MD5 we computed, resumable from the store's part list
/// (ListParts) or from a <see cref="S3UploadCheckpoint"/> where the store cannot list parts.
/// </summary>
public sealed class S3ObjectUploader : IDisposable
{
    private readonly IAmazonS3 _client;
    private readonly bool _ownsClient;

    /// <summary>Uploads with a client built from <paramref name="storage"/>.</summary>
    public S3ObjectUploader(S3StorageOptions storage)
    {
        ArgumentNullException.ThrowIfNull(storage);
        _client = storage.CreateClient();
        _ownsClient = true;
    }

    /// <summary>Uploads with the caller's client (for example one from <see cref="S3StorageOptions.CreateConfig"/> with custom HTTP settings).</summary>
    public S3ObjectUploader(IAmazonS3 client, bool ownsClient = false)
    {
        ArgumentNullException.ThrowIfNull(client);
        _client = client;
        _ownsClient = ownsClient;
    }

    /// <summary>Uploads a file to <paramref name="bucket"/>/<paramref name="key"/>.</summary>
    /// <exception cref="S3UploadCanceledException">Cancelled; its checkpoint resumes the upload.</exception>
    /// <exception cref="S3TransferException">The store refused a request or returned a wrong ETag; its checkpoint resumes the upload.</exception>
    public async Task<S3UploadResult> UploadFileAsync(string path, string bucket, string key, S3UploadOptions? options = null,
        IProgress<S3UploadProgress>? progress = null, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        ArgumentException.ThrowIfNullOrEmpty(bucket);
        ArgumentException.ThrowIfNullOrEmpty(key);
        options ??= new S3UploadOptions();
        if (options.MaxConcurrency < 1)
        {
            throw new ArgumentException("MaxConcurrency must be at least 1", nameof(options));
        }

        var length = new FileInfo(path).Length;
        var partSize = options.Resume?.PartSize ?? PartSizeFor(length, options.PartSize);
        if (partSize is < S3UploadOptions.MinimumPartSize or > S3UploadOptions.MaximumPartSize ||
            (length + partSize - 1) / partSize > S3UploadOptions.MaximumParts)
        {
            throw new ArgumentException($"a part size of {partSize} bytes does not fit S3's limits for {length} bytes (5 MiB..5 GiB, at most 10,000 parts)", nameof(options));
        }

        if (options.Resume is { } resume && (resume.Bucket != bucket || resume.Key != key))
        {
            throw new ArgumentException($"the checkpoint is for {resume.Bucket}/{resume.Key}, not {bucket}/{key}", nameof(options));
        }

        var partCount = (int)Math.Max(1, (length + partSize - 1) / partSize);
        var uploadId = options.Resume?.UploadId ?? await InitiateAsync(bucket, key, options, cancellationToken).ConfigureAwait(false);
        var done = new ConcurrentDictionary<int, S3UploadedPart>();
        S3UploadCheckpoint Checkpoint() => new(bucket, key, uploadId, partSize, [.. done.Values.OrderBy(p => p.PartNumber)]);

        try
        {
            var existing = options.Resume is null
                ? new Dictionary<int, S3UploadedPart>()
                : await ExistingPartsAsync(bucket, key, options.Resume, cancellationToken).ConfigureAwait(false);
            long bytesDone = 0;
            int partsDone = 0, reused = 0, uploaded = 0;
            progress?.Report(new S3UploadProgress(uploadId, 0, length, 0, partCount, 0));
            using var handle = File.OpenHandle(path, FileMode.Open, FileAccess.Read, FileShare.Read, FileOptions.Asynchronous);
            await Parallel.ForEachAsync(Enumerable.Range(1, partCount), new ParallelOptions { MaxDegreeOfParallelism = options.MaxConcurrency, CancellationToken = cancellationToken },
                async (number, ct) =>
                {
                    var offset = (number - 1) * partSize;
                    var size = Math.Min(partSize, length - offset);
                    var (md5, sha256) = await HashPartAsync(handle, offset, size, options.Sha256PartChecksums, ct).ConfigureAwait(false);
                    var md5Hex = Convert.ToHexStringLower(md5);
                    if (existing.TryGetValue(number, out var held) && held.Size == size && string.Equals(held.ETag, md5Hex, StringComparison.OrdinalIgnoreCase))
                    {
                        done[number] = held with { ChecksumSha256 = sha256 };
                        Interlocked.Increment(ref reused);
                    }
                    else
                    {
                        done[number] = await UploadPartAsync(path, bucket, key, uploadId, number, offset, size, md5, md5Hex, sha256, ct).ConfigureAwait(false);
                        Interlocked.Increment(ref uploaded);
                    }

                    var bytes = Interlocked.Add(ref bytesDone, size);
                    var parts = Interlocked.Increment(ref partsDone);
                    progress?.Report(new S3UploadProgress(uploadId, bytes, length, parts, partCount, Volatile.Read(ref reused)));
                }).ConfigureAwait(false);

            var complete = await _client.CompleteMultipartUploadAsync(new CompleteMultipartUploadRequest
            {
                BucketName = bucket,
                Key = key,
                UploadId = uploadId,
                PartETags = [.. done.Values.OrderBy(p => p.PartNumber).Select(p => new PartETag(p.PartNumber, p.ETag) { ChecksumSHA256 = p.ChecksumSha256 })],
            }, cancellationToken).ConfigureAwait(false);
            return new S3UploadResult(bucket, key, uploadId, complete.ETag?.Trim('"') ?? "", length, uploaded, reused);
        }
        catch (OperationCanceledException e)
        {
            var checkpoint = await AfterFailureAsync(bucket, key, uploadId, options, Checkpoint()).ConfigureAwait(false);
            throw new S3UploadCanceledException($"the upload of {bucket}/{key} (upload {uploadId}) was cancelled with {done.Count} of {partCount} parts stored", checkpoint, e);
        }
        catch (AmazonServiceException e)
        {
            var checkpoint = await AfterFailureAsync(bucket, key, uploadId, options, Checkpoint()).ConfigureAwait(false);
            throw new S3TransferException($"the upload of {bucket}/{key} (upload {uploadId}) failed: {(int)e.StatusCode} {e.ErrorCode}: {e.Message}", checkpoint, e);
        }
        catch (Exception e) when (e is AmazonClientException or HttpRequestException)
        {
            var checkpoint = await AfterFailureAsync(bucket, key, uploadId, options, Checkpoint()).ConfigureAwait(false);
            throw new S3TransferException($"the upload of {bucket}/{key} (upload {uploadId}) lost the store: {e.Message}", checkpoint, e);
        }
        catch (S3TransferException e) when (e.Checkpoint is null)
        {
            var checkpoint = await AfterFailureAsync(bucket, key, uploadId, options, Checkpoint()).ConfigureAwait(false);
            throw new S3TransferException(e.Message, checkpoint, e.InnerException);
        }
    }

    /// <summary>Aborts a multipart upload (the store drops its parts).</summary>
    public async Task AbortAsync(string bucket, string key, string uploadId, CancellationToken cancellationToken = default)
    {
        try
        {
            await _client.AbortMultipartUploadAsync(new AbortMultipartUploadRequest { BucketName = bucket, Key = key, UploadId = uploadId }, cancellationToken).ConfigureAwait(false);
        }
        catch (AmazonS3Exception e)
        {
            throw new S3TransferException($"aborting upload {uploadId} of {bucket}/{key} failed: {(int)e.StatusCode} {e.ErrorCode}: {e.Message}", e);
        }
    }

    /// <summary>Deletes an object (after the import, when asked).</summary>
    public async Task DeleteAsync(string bucket, string key, CancellationToken cancellationToken = default)
    {
        try
        {
            await _client.DeleteObjectAsync(new DeleteObjectRequest { BucketName = bucket, Key = key }, cancellationToken).ConfigureAwait(false);
        }
        catch (AmazonS3Exception e)
        {
            throw new S3TransferException($"deleting {bucket}/{key} failed: {(int)e.StatusCode} {e.ErrorCode}: {e.Message}", e);
        }
    }

    /// <inheritdoc />
    public void Dispose()
    {
        if (_ownsClient)
        {
            _client.Dispose();
        }
    }

    /// <summary>The part size to use: the requested one, raised so the file fits in 10,000 parts.</summary>
    internal static long PartSizeFor(long length, long requested)
    {
        var minimum = (length + S3UploadOptions.MaximumParts - 1) / S3UploadOptions.MaximumParts;
        var size = Math.Max(Math.Max(requested, minimum), S3UploadOptions.MinimumPartSize);
        // Whole MiB parts are easier to reason about in listings.
        return (size + (1L << 20) - 1) >> 20 << 20;
    }

    private async Task<string> InitiateAsync(string bucket, string key, S3UploadOptions options, CancellationToken cancellationToken)
    {
        try
        {
            var response = await _client.InitiateMultipartUploadAsync(new InitiateMultipartUploadRequest
            {
                BucketName = bucket,
                Key = key,
                ContentType = options.ContentType,
                ChecksumAlgorithm = options.Sha256PartChecksums ? ChecksumAlgorithm.SHA256 : null,
            }, cancellationToken).ConfigureAwait(false);
            return response.UploadId;
        }
        catch (AmazonS3Exception e)
        {
            throw new S3TransferException($"starting a multipart upload of {bucket}/{key} failed: {(int)e.StatusCode} {e.ErrorCode}: {e.Message}", e);
        }
    }

    private async Task<Dictionary<int, S3UploadedPart>> ExistingPartsAsync(string bucket, string key, S3UploadCheckpoint resume, CancellationToken cancellationToken)
    {
        var parts = new Dictionary<int, S3UploadedPart>();
        try
        {
            string? marker = null;
            for (var page = 0; page < S3UploadOptions.MaximumParts; page++)
            {
                var response = await _client.ListPartsAsync(new ListPartsRequest
                {
                    BucketName = bucket,
                    Key = key,
                    UploadId = resume.UploadId,
                    PartNumberMarker = marker,
                }, cancellationToken).ConfigureAwait(false);
                foreach (var part in response.Parts ?? [])
                {
                    if (part.PartNumber is { } number && part.Size is { } size && part.ETag is { } etag)
                    {
                        parts[number] = new S3UploadedPart(number, etag.Trim('"'), size);
                    }
                }

                if (response.IsTruncated != true || response.NextPartNumberMarker is null)
                {
                    return parts;
                }

                marker = response.NextPartNumberMarker.ToString();
            }

            return parts;
        }
        catch (AmazonS3Exception e) when (e.StatusCode is HttpStatusCode.MethodNotAllowed or HttpStatusCode.NotImplemented)
        {
            // Stores without ListParts (s3rver): trust the checkpoint; a part is still reused only if its size and MD5 match.
            return resume.Parts.ToDictionary(p => p.PartNumber);
        }
        catch (AmazonS3Exception e) when (e.StatusCode == HttpStatusCode.NotFound)
        {
            throw new S3TransferException($"upload {resume.UploadId} of {bucket}/{key} no longer exists (completed, aborted or expired): start a new upload", e);
        }
    }

    private async Task<S3UploadedPart> UploadPartAsync(string path, string bucket, string key, string uploadId, int number, long offset, long size,
        byte[] md5, string md5Hex, string? sha256, CancellationToken cancellationToken)
    {
        var response = await _client.UploadPartAsync(new UploadPartRequest
        {
            ChecksumAlgorithm = sha256 is null ? null : ChecksumAlgorithm.SHA256,
            ChecksumSHA256 = sha256,
            BucketName = bucket,
            Key = key,
            UploadId = uploadId,
            PartNumber = number,
            FilePath = path,
            FilePosition = offset,
            PartSize = size,
            MD5Digest = Convert.ToBase64String(md5),
            // The SDK's default signs the body in aws-chunked frames; stores that do not decode them
            // (s3rver, some gateways) keep the frame headers as data. A signed plain body works everywhere.
            UseChunkEncoding = false,
        }, cancellationToken).ConfigureAwait(false);
        var etag = response.ETag?.Trim('"') ?? "";
        // S3 and most stores answer the part's MD5; an ETag of that shape that differs means the bytes changed on the way.
        if (etag.Length == 32 && etag.All(Uri.IsHexDigit) && !string.Equals(etag, md5Hex, StringComparison.OrdinalIgnoreCase))
        {
            throw new S3TransferException($"part {number} of {bucket}/{key} (upload {uploadId}, bytes {offset}..{offset + size}) was stored with MD5 {etag}, sent {md5Hex}");
        }

        return new S3UploadedPart(number, etag, size, sha256);
    }

    private async Task<S3UploadCheckpoint?> AfterFailureAsync(string bucket, string key, string uploadId, S3UploadOptions options, S3UploadCheckpoint checkpoint)
    {
        if (!options.AbortOnFailure)
        {
            return checkpoint;
        }

        try
        {
            await _client.AbortMultipartUploadAsync(new AbortMultipartUploadRequest { BucketName = bucket, Key = key, UploadId = uploadId }).ConfigureAwait(false);
        }
        catch (Exception e) when (e is AmazonServiceException or AmazonClientException or HttpRequestException)
        {
            // Best effort: the failure being reported matters more; a lifecycle rule cleans up what remains.
        }

        return null;
    }

    private static async Task<(byte[] Md5, string? Sha256)> HashPartAsync(Microsoft.Win32.SafeHandles.SafeFileHandle handle, long offset, long size, bool sha256, CancellationToken cancellationToken)
    {
#pragma warning disable CA5351 // Content-MD5 is what the S3 protocol uses for part integrity and ETags; it is not used for security.
        using var md5 = IncrementalHash.CreateHash(HashAlgorithmName.MD5);
#pragma warning restore CA5351
        using var sha = sha256 ? IncrementalHash.CreateHash(HashAlgorithmName.SHA256) : null;
        var buffer = ArrayPool<byte>.Shared.Rent(1 << 20);
        try
        {
            long position = 0;
            while (position < size)
            {
                var read = await RandomAccess.ReadAsync(handle, buffer.AsMemory(0, (int)Math.Min(buffer.Length, size - position)), offset + position, cancellationToken).ConfigureAwait(false);
                if (read == 0)
                {
                    throw new S3TransferException($"the file ended at {offset + position} while reading a part that should end at {offset + size} (was it truncated during the upload?)");
                }

                md5.AppendData(buffer, 0, read);
                sha?.AppendData(buffer, 0, read);
                position += read;
            }

            return (md5.GetHashAndReset(), sha is null ? null : Convert.ToBase64String(sha.GetHashAndReset()));
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }
}
