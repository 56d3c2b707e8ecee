using Refit;
using Whitesky.Api.Models;

namespace Whitesky.Api.Apis;

/// <summary>Disks of a customer in one location.</summary>
public interface IDisksApi
{
    /// <summary>Lists the customer's disks in a location (<c>listDisks</c>).</summary>
    /// <param name="customerId">The customer.</param>
    /// <param name="location">The location.</param>
    /// <param name="includeDeleted">Include deleted disks.</param>
    /// <param name="onlyDeleted">Only deleted disks.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <returns>The disks.</returns>
    [Get("/customers/{customer_id}/locations/{location}/disks")]
    [WhiteskyOperation("listDisks")]
    Task<DiskList> ListDisksAsync(
        [AliasAs("customer_id")] string customerId,
        [AliasAs("location")] string location,
        [AliasAs("include_deleted")] bool? includeDeleted = null,
        [AliasAs("only_deleted")] bool? onlyDeleted = null,
        CancellationToken cancellationToken = default);

    /// <summary>Creates a disk (<c>createDisk</c>); its size is in GB.</summary>
    /// <param name="customerId">The customer.</param>
    /// <param name="location">The location.</param>
    /// <param name="request">The disk to create, sent as query parameters.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <returns>The new disk's id.</returns>
    [Post("/customers/{customer_id}/locations/{location}/disks")]
    [WhiteskyOperation("createDisk")]
    Task<DiskIdResult> CreateDiskAsync(
        [AliasAs("customer_id")] string customerId,
        [AliasAs("location")] string location,
        [Query] CreateDiskRequest request,
        CancellationToken cancellationToken = default);

    /// <summary>Reads one disk (<c>getDiskInfo</c>).</summary>
    /// <param name="customerId">The customer.</param>
    /// <param name="location">The location.</param>
    /// <param name="diskId">The disk.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <returns>The disk.</returns>
    [Get("/customers/{customer_id}/locations/{location}/disks/{disk_id}")]
    [WhiteskyOperation("getDiskInfo")]
    Task<DiskInfo> GetDiskInfoAsync(
        [AliasAs("customer_id")] string customerId,
        [AliasAs("location")] string location,
        [AliasAs("disk_id")] long diskId,
        CancellationToken cancellationToken = default);

    /// <summary>Deletes a disk (<c>deleteDisk</c>).</summary>
    /// <param name="customerId">The customer.</param>
    /// <param name="location">The location.</param>
    /// <param name="diskId">The disk.</param>
    /// <param name="detach">Detach it from its VM first (the platform's default is true).</param>
    /// <param name="permanently">Delete for good instead of moving it to the recycle bin.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <returns>Whether it succeeded.</returns>
    [Delete("/customers/{customer_id}/locations/{location}/disks/{disk_id}")]
    [WhiteskyOperation("deleteDisk")]
    Task<SuccessResult> DeleteDiskAsync(
        [AliasAs("customer_id")] string customerId,
        [AliasAs("location")] string location,
        [AliasAs("disk_id")] long diskId,
        [AliasAs("detach")] bool? detach = null,
        [AliasAs("permanently")] bool? permanently = null,
        CancellationToken cancellationToken = default);

    /// <summary>Grows a disk (<c>resizeDisk</c>).</summary>
    /// <param name="customerId">The customer.</param>
    /// <param name="location">The location.</param>
    /// <param name="diskId">The disk.</param>
    /// <param name="diskSize">The new size in GiB.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <returns>Whether it succeeded.</returns>
    [Put("/customers/{customer_id}/locations/{location}/disks/{disk_id}/size")]
    [WhiteskyOperation("resizeDisk")]
    Task<SuccessResult> ResizeDiskAsync(
        [AliasAs("customer_id")] string customerId,
        [AliasAs("location")] string location,
        [AliasAs("disk_id")] long diskId,
        [AliasAs("disk_size")] long diskSize,
        CancellationToken cancellationToken = default);
}
