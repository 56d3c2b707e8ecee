using Refit;
using Whitesky.Api.Models;

namespace Whitesky.Api.Apis;

/// <summary>Disks exposed over NBD (TLS-PSK) through a cloudspace.</summary>
public interface IExposedDisksApi
{
    /// <summary>Lists the disks exposed through a cloudspace (<c>listExposedDisks</c>).</summary>
    /// <param name="customerId">The customer.</param>
    /// <param name="cloudspaceId">The cloudspace.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <returns>The exposed disks.</returns>
    [Get("/customers/{customer_id}/cloudspaces/{cloudspace_id}/exposed-disks")]
    [WhiteskyOperation("listExposedDisks")]
    Task<ExposedDiskList> ListExposedDisksAsync(
        [AliasAs("customer_id")] string customerId,
        [AliasAs("cloudspace_id")] string cloudspaceId,
        CancellationToken cancellationToken = default);

    /// <summary>Exposes a disk as an NBD export protected by TLS-PSK (<c>exposeDisk</c>).</summary>
    /// <param name="customerId">The customer.</param>
    /// <param name="cloudspaceId">The cloudspace.</param>
    /// <param name="diskId">The disk.</param>
    /// <param name="iops">Total IOPS for the exposed disk.</param>
    /// <param name="maxConnections">Maximum concurrent NBD connections.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <returns>The protocol and endpoint (address, port, export name, PSK identity and key).</returns>
    [Post("/customers/{customer_id}/cloudspaces/{cloudspace_id}/exposed-disks")]
    [WhiteskyOperation("exposeDisk")]
    Task<DiskExposure> ExposeDiskAsync(
        [AliasAs("customer_id")] string customerId,
        [AliasAs("cloudspace_id")] string cloudspaceId,
        [AliasAs("disk_id")] long diskId,
        [AliasAs("iops")] long? iops = null,
        [AliasAs("max_connections")] long? maxConnections = null,
        CancellationToken cancellationToken = default);

    /// <summary>Stops exposing a disk (<c>unexposeDisk</c>).</summary>
    /// <param name="customerId">The customer.</param>
    /// <param name="cloudspaceId">The cloudspace.</param>
    /// <param name="diskId">The disk.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <returns>Whether it succeeded.</returns>
    [Delete("/customers/{customer_id}/cloudspaces/{cloudspace_id}/exposed-disks/{disk_id}")]
    [WhiteskyOperation("unexposeDisk")]
    Task<SuccessResult> UnexposeDiskAsync(
        [AliasAs("customer_id")] string customerId,
        [AliasAs("cloudspace_id")] string cloudspaceId,
        [AliasAs("disk_id")] long diskId,
        CancellationToken cancellationToken = default);
}
