namespace Whitesky.Migration.S3;

/// <summary>A part of a multipart upload that the store holds.</summary>
/// <param name="PartNumber">1-based part number.</param>
/// <param name="ETag">The store's ETag for the part, without quotes (the part's MD5 in hex on S3 and most stores).</param>
/// <param name="Size">The part's bytes.</param>
public sealed record S3UploadedPart(int PartNumber, string ETag, long Size);
