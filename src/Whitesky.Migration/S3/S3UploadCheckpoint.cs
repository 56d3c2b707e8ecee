namespace Whitesky.Migration.S3;

/// <summary>
/// What an interrupted upload had done, to resume it: the upload id and the parts the store acknowledged.
/// Carried by <see cref="S3UploadCanceledException"/> and <see cref="S3TransferException"/>; pass it back as
/// <see cref="S3UploadOptions.Resume"/>.
/// </summary>
/// <param name="Bucket">The bucket.</param>
/// <param name="Key">The object key.</param>
/// <param name="UploadId">The multipart upload id.</param>
/// <param name="PartSize">The part size the upload uses (a resume must use the same).</param>
/// <param name="Parts">The parts acknowledged so far, by part number.</param>
public sealed record S3UploadCheckpoint(string Bucket, string Key, string UploadId, long PartSize, IReadOnlyList<S3UploadedPart> Parts);
