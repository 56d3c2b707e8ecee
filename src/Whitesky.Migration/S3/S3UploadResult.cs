namespace Whitesky.Migration.S3;

/// <summary>A completed upload.</summary>
/// <param name="Bucket">The bucket.</param>
/// <param name="Key">The object key.</param>
/// <param name="UploadId">The multipart upload id it was.</param>
/// <param name="ETag">The object's ETag, without quotes.</param>
/// <param name="Length">The object's size.</param>
/// <param name="PartsUploaded">Parts sent by this run.</param>
/// <param name="PartsReused">Parts of an earlier run that were kept.</param>
public sealed record S3UploadResult(string Bucket, string Key, string UploadId, string ETag, long Length, int PartsUploaded, int PartsReused);
