using Refit;
using Whitesky.Api.Models;

namespace Whitesky.Api.Apis;

/// <summary>CD-ROM images of a location: multipart upload, info, delete.</summary>
public interface ICdromImagesApi
{
    /// <summary>Starts a multipart upload of an ISO (<c>createCDROMMultipartUpload</c>).</summary>
    /// <param name="customerId">The customer.</param>
    /// <param name="location">The location.</param>
    /// <param name="fileName">The ISO's file name.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <returns>The upload id, the object name and the part size in bytes.</returns>
    [Post("/customers/{customer_id}/locations/{location}/cdrom-images/upload-cdrom")]
    [WhiteskyOperation("createCDROMMultipartUpload")]
    Task<CdromUpload> CreateCdromUploadAsync(
        [AliasAs("customer_id")] string customerId,
        [AliasAs("location")] string location,
        [AliasAs("file_name")] string fileName,
        CancellationToken cancellationToken = default);

    /// <summary>
    /// Uploads one part as <c>application/octet-stream</c> (<c>UploadCDROMPart</c>). The answer carries the part's
    /// <c>ETag</c> header; a failed status throws <see cref="WhiteskyApiException"/> like every other call.
    /// </summary>
    /// <param name="customerId">The customer.</param>
    /// <param name="location">The location.</param>
    /// <param name="uploadId">The upload.</param>
    /// <param name="partId">The part number (1-based, as the swagger's string).</param>
    /// <param name="objectName">The object name from <see cref="CreateCdromUploadAsync"/>.</param>
    /// <param name="content">The part's bytes; use a content that can be sent twice (e.g. <see cref="ByteArrayContent"/>) so a retry can resend it.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <returns>The response; the caller disposes it.</returns>
    [Put("/customers/{customer_id}/locations/{location}/cdrom-images/{upload_id}/upload-part/{part_id}")]
    [WhiteskyOperation("UploadCDROMPart")]
    Task<HttpResponseMessage> UploadCdromPartAsync(
        [AliasAs("customer_id")] string customerId,
        [AliasAs("location")] string location,
        [AliasAs("upload_id")] string uploadId,
        [AliasAs("part_id")] string partId,
        [AliasAs("object_name")] string objectName,
        [Body] HttpContent content,
        CancellationToken cancellationToken = default);

    /// <summary>
    /// Completes the upload and creates the CD-ROM image (<c>createCustomerCDROMImageFromFile</c>). The swagger does
    /// not describe the answer; the response is handed back as it came.
    /// </summary>
    /// <param name="customerId">The customer.</param>
    /// <param name="location">The location.</param>
    /// <param name="uploadId">The upload.</param>
    /// <param name="name">The CD-ROM's name.</param>
    /// <param name="osType">The OS family.</param>
    /// <param name="osName">The OS.</param>
    /// <param name="payload">The object name and every uploaded part with its ETag.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <returns>The response; the caller disposes it.</returns>
    [Post("/customers/{customer_id}/locations/{location}/cdrom-images/{upload_id}/finish-cdrom-upload")]
    [WhiteskyOperation("createCustomerCDROMImageFromFile")]
    Task<HttpResponseMessage> FinishCdromUploadAsync(
        [AliasAs("customer_id")] string customerId,
        [AliasAs("location")] string location,
        [AliasAs("upload_id")] string uploadId,
        [AliasAs("name")] string name,
        [AliasAs("os_type")] OsType osType,
        [AliasAs("os_name")] OsName osName,
        [Body] CdromUploadCompletion payload,
        CancellationToken cancellationToken = default);

    /// <summary>Reads a CD-ROM image (<c>getCDROMInfo</c>).</summary>
    /// <param name="customerId">The customer.</param>
    /// <param name="location">The location.</param>
    /// <param name="cdromId">The CD-ROM image.</param>
    /// <param name="includeLogo">Include the logo.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <returns>The image.</returns>
    [Get("/customers/{customer_id}/locations/{location}/cdrom-images/{cdrom_id}")]
    [WhiteskyOperation("getCDROMInfo")]
    Task<ImageInfo> GetCdromInfoAsync(
        [AliasAs("customer_id")] string customerId,
        [AliasAs("location")] string location,
        [AliasAs("cdrom_id")] long cdromId,
        [AliasAs("include_logo")] bool? includeLogo = null,
        CancellationToken cancellationToken = default);

    /// <summary>Deletes a CD-ROM image (<c>deleteCustomerCDROMImage</c>).</summary>
    /// <param name="customerId">The customer.</param>
    /// <param name="location">The location.</param>
    /// <param name="cdromId">The CD-ROM image.</param>
    /// <param name="permanently">Delete for good instead of moving it to the recycle bin.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <returns>Whether it succeeded.</returns>
    [Delete("/customers/{customer_id}/locations/{location}/cdrom-images/{cdrom_id}")]
    [WhiteskyOperation("deleteCustomerCDROMImage")]
    Task<SuccessResult> DeleteCdromAsync(
        [AliasAs("customer_id")] string customerId,
        [AliasAs("location")] string location,
        [AliasAs("cdrom_id")] long cdromId,
        [AliasAs("permanently")] bool? permanently = null,
        CancellationToken cancellationToken = default);
}
