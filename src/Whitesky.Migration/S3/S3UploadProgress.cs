namespace Whitesky.Migration.S3;

/// <summary>Where an upload is.</summary>
/// <param name="UploadId">The multipart upload id (known from the first report on).</param>
/// <param name="BytesDone">Bytes the store holds (sent or reused).</param>
/// <param name="TotalBytes">The object's size.</param>
/// <param name="PartsDone">Parts the store holds.</param>
/// <param name="PartsTotal">Parts of the object.</param>
/// <param name="PartsReused">Parts of an earlier run that were not sent again.</param>
public sealed record S3UploadProgress(string UploadId, long BytesDone, long TotalBytes, int PartsDone, int PartsTotal, int PartsReused);
