namespace Whitesky.Migration.S3;

/// <summary>A part of a multipart upload that the store holds.</summary>
/// <param name="PartNumber">1-based part number.</param>
/// <param name="ETag">The store's ETag for the part, without quotes (the part's MD5 in hex on S3 and most stores).</param>
/// <param name="Size">The part's bytes.</param>
/// <param name="ChecksumSha256">The part's SHA-256 in base64 when the upload sends flexible checksums, else null.</param>
public sealed record S3UploadedPart(int PartNumber, string ETag, long Size, string? ChecksumSha256 = null);
