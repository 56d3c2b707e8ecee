namespace Whitesky.Migration.S3;

/// <summary>How <see cref="S3ObjectUploader"/> uploads.</summary>
public sealed record S3UploadOptions
{
    /// <summary>S3's smallest part (except the last).</summary>
    public const long MinimumPartSize = 5L << 20;

    /// <summary>S3's largest part.</summary>
    public const long MaximumPartSize = 5L << 30;

    /// <summary>S3's most parts per upload.</summary>
    public const int MaximumParts = 10_000;

    /// <summary>
    /// Part size in bytes, 5 MiB to 5 GiB. Default 64 MiB. Raised automatically when the file would need more
    /// than 10,000 parts.
    /// </summary>
    public long PartSize { get; init; } = 64L << 20;

    /// <summary>Parts uploaded at once. Default 4.</summary>
    public int MaxConcurrency { get; init; } = 4;

    /// <summary>
    /// Resume this upload: its parts that the store still holds with the right size and MD5 are not sent again.
    /// The part list comes from the store (ListParts) or, where the store does not list parts, from the checkpoint.
    /// </summary>
    public S3UploadCheckpoint? Resume { get; init; }

    /// <summary>
    /// Abort the multipart upload when the upload fails or is cancelled (the store drops the parts). Default
    /// false: the upload stays resumable from the checkpoint the exception carries.
    /// </summary>
    public bool AbortOnFailure { get; init; }

    /// <summary>
    /// Also send each part's SHA-256 (<c>x-amz-checksum-sha256</c>, computed in the same pass as the MD5) and
    /// complete the upload with them, so AWS S3 and stores that implement flexible checksums verify every part.
    /// Stores that ignore the header (s3rver) still verify Content-MD5 / ETag. Default false.
    /// </summary>
    public bool Sha256PartChecksums { get; init; }

    /// <summary>Content type of the object. Default <c>application/octet-stream</c>.</summary>
    public string ContentType { get; init; } = "application/octet-stream";
}
