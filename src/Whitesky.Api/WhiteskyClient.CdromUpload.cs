using System.Buffers;
using Whitesky.Api.Models;

namespace Whitesky.Api;

public partial class WhiteskyClient
{
    // A part size the platform answers outside these bounds is refused rather than allocated.
    private const long MinPartSize = 1;
    private const long MaxPartSize = 1L << 30;

    /// <summary>
    /// Uploads an ISO as a CD-ROM image of the location: creates the multipart upload, sends the parts (several at
    /// once, each retried on 429/503/connection errors since a part PUT is idempotent), then finishes it with every
    /// part's ETag. Memory use is bounded by <see cref="WhiteskyClientOptions.UploadParallelism"/> × part size.
    /// </summary>
    /// <param name="iso">The ISO, read once from its current position to its end.</param>
    /// <param name="fileName">The file name the platform records.</param>
    /// <param name="name">The CD-ROM image's name.</param>
    /// <param name="osType">The OS family.</param>
    /// <param name="osName">The OS.</param>
    /// <param name="progress">Receives the number of bytes whose part is uploaded.</param>
    /// <param name="cancellationToken">Cancels the upload.</param>
    /// <returns>The upload, its parts and the finish answer.</returns>
    public virtual async Task<CdromUploadResult> UploadCdromAsync(
        Stream iso,
        string fileName,
        string name,
        OsType osType,
        OsName osName,
        IProgress<long>? progress = null,
        CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(iso);
        ArgumentException.ThrowIfNullOrEmpty(fileName);
        ArgumentException.ThrowIfNullOrEmpty(name);
        var customer = Customer;
        var location = Loc;
        var upload = await CdromImages.CreateCdromUploadAsync(customer, location, fileName, cancellationToken).ConfigureAwait(false);
        if (upload.PartSize is < MinPartSize or > MaxPartSize || string.IsNullOrEmpty(upload.UploadId) || string.IsNullOrEmpty(upload.ObjectName))
        {
            throw new WhiteskyApiException("createCDROMMultipartUpload", System.Net.HttpStatusCode.OK,
                $"unusable upload: part_size {upload.PartSize} (allowed {MinPartSize}..{MaxPartSize}), upload_id and object_name must be set", null);
        }

        var partSize = (int)upload.PartSize;
        var parts = new List<CdromUploadedPart>();
        var inFlight = new List<Task<CdromUploadedPart>>();
        using var failed = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        long total = 0;
        long uploaded = 0;
        var partNumber = 0;
        try
        {
            while (true)
            {
                var buffer = ArrayPool<byte>.Shared.Rent(partSize);
                int filled;
                try
                {
                    filled = await iso.ReadAtLeastAsync(buffer.AsMemory(0, partSize), partSize, throwOnEndOfStream: false, failed.Token).ConfigureAwait(false);
                }
                catch
                {
                    ArrayPool<byte>.Shared.Return(buffer);
                    throw;
                }

                if (filled == 0 && partNumber > 0)
                {
                    ArrayPool<byte>.Shared.Return(buffer);
                    break;
                }

                partNumber++;
                total += filled;
                inFlight.Add(UploadPartAsync(customer, location, upload, partNumber, buffer, filled, p =>
                {
                    progress?.Report(Interlocked.Add(ref uploaded, p));
                }, failed.Token));
                if (inFlight.Count >= _options.UploadParallelism)
                {
                    var done = await Task.WhenAny(inFlight).ConfigureAwait(false);
                    inFlight.Remove(done);
                    parts.Add(await done.ConfigureAwait(false));
                }

                if (filled < partSize)
                {
                    break;
                }
            }

            parts.AddRange(await Task.WhenAll(inFlight).ConfigureAwait(false));
        }
        catch
        {
            await failed.CancelAsync().ConfigureAwait(false);
            try
            {
                await Task.WhenAll(inFlight).ConfigureAwait(false);
            }
            catch (Exception)
            {
                // The first failure is the one reported.
            }

            throw;
        }

        parts.Sort((a, b) => a.PartNumber.CompareTo(b.PartNumber));
        var completion = new CdromUploadCompletion { ObjectName = upload.ObjectName, UploadedParts = parts };
        using var response = await CdromImages.FinishCdromUploadAsync(customer, location, upload.UploadId, name, osType, osName, completion, cancellationToken).ConfigureAwait(false);
        var body = await response.Content.ReadAsStringAsync(cancellationToken).ConfigureAwait(false);
        return new CdromUploadResult(upload, parts, total, body, ReadCdromId(body));
    }

    private static long? ReadCdromId(string body)
    {
        try
        {
            using var doc = System.Text.Json.JsonDocument.Parse(body);
            var root = doc.RootElement;
            if (root.ValueKind == System.Text.Json.JsonValueKind.Number && root.TryGetInt64(out var bare))
            {
                return bare;
            }

            foreach (var name in (string[])["cdrom_id", "image_id"])
            {
                if (root.ValueKind == System.Text.Json.JsonValueKind.Object && root.TryGetProperty(name, out var id)
                    && id.ValueKind == System.Text.Json.JsonValueKind.Number && id.TryGetInt64(out var value))
                {
                    return value;
                }
            }
        }
        catch (System.Text.Json.JsonException)
        {
            // Not JSON: no id to read.
        }

        return null;
    }

    private async Task<CdromUploadedPart> UploadPartAsync(
        string customer, string location, CdromUpload upload, int partNumber, byte[] buffer, int length, Action<long> uploaded, CancellationToken cancellationToken)
    {
        try
        {
            using var content = new ByteArrayContent(buffer, 0, length);
            content.Headers.ContentType = new System.Net.Http.Headers.MediaTypeHeaderValue("application/octet-stream");
            using var response = await CdromImages.UploadCdromPartAsync(customer, location, upload.UploadId, partNumber.ToString(System.Globalization.CultureInfo.InvariantCulture), upload.ObjectName, content, cancellationToken).ConfigureAwait(false);
            var etag = response.Headers.ETag?.Tag
                ?? (response.Headers.TryGetValues("ETag", out var values) ? values.FirstOrDefault() : null);
            if (string.IsNullOrEmpty(etag))
            {
                throw new WhiteskyApiException("UploadCDROMPart", response.StatusCode, $"part {partNumber} was accepted without an ETag header", null);
            }

            uploaded(length);
            return new CdromUploadedPart { PartNumber = partNumber, Etag = etag };
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }
}
