using Whitesky.Api.Models;

namespace Whitesky.Api;

/// <summary>The outcome of <see cref="WhiteskyClient.UploadCdromAsync"/>.</summary>
/// <param name="Upload">The multipart upload the platform created (upload id, object name, part size).</param>
/// <param name="Parts">Every part with its ETag, in part-number order.</param>
/// <param name="Bytes">How many bytes were uploaded.</param>
/// <param name="FinishResponse">The body of the finish call as the platform sent it (the swagger does not describe it).</param>
/// <param name="CdromId">
/// The new CD-ROM image's id when the finish answer carries one (<c>{"cdrom_id": N}</c>, as the emulator answers, or
/// a bare number); null otherwise. The swagger gives this answer no schema, so this is read leniently.
/// </param>
public sealed record CdromUploadResult(CdromUpload Upload, IReadOnlyList<CdromUploadedPart> Parts, long Bytes, string FinishResponse, long? CdromId);
