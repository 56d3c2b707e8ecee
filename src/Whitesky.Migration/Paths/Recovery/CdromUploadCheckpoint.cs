namespace Whitesky.Migration.Paths.Recovery;

/// <summary>
/// What an ISO upload had done: the platform's multipart upload and the parts it acknowledged. Saved to
/// RecoveryBootOptions.UploadCheckpointPath after every part; a new run with it sends only the rest.
/// </summary>
/// <param name="FileName">The ISO's file name as given to the platform.</param>
/// <param name="FileLength">The ISO's size (a changed file does not resume).</param>
/// <param name="UploadId">The multipart upload.</param>
/// <param name="ObjectName">The object the platform assembles.</param>
/// <param name="PartSize">The platform's part size.</param>
/// <param name="Parts">Acknowledged parts: number and ETag.</param>
internal sealed record CdromUploadCheckpoint(string FileName, long FileLength, string UploadId, string ObjectName, long PartSize, IReadOnlyList<CdromUploadCheckpointPart> Parts);

/// <summary>One acknowledged part.</summary>
/// <param name="PartNumber">1-based part number.</param>
/// <param name="Etag">The ETag the platform answered.</param>
internal sealed record CdromUploadCheckpointPart(int PartNumber, string Etag);
