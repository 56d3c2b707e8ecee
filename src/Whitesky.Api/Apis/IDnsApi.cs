using Refit;
using Whitesky.Api.Models;

namespace Whitesky.Api.Apis;

/// <summary>DNS records of a cloudspace (the platform's <c>alpha</c> API).</summary>
public interface IDnsApi
{
    /// <summary>Lists the cloudspace's DNS records (<c>getCloudspaceDnsRecords</c>).</summary>
    /// <param name="customerId">The customer.</param>
    /// <param name="cloudspaceId">The cloudspace.</param>
    /// <param name="cloudspaceOnly">Only the cloudspace's own domains (not its VMs' and NICs').</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <returns>The records.</returns>
    [Get("/alpha/customers/{customer_id}/cloudspaces/{cloudspace_id}/dns")]
    [WhiteskyOperation("getCloudspaceDnsRecords")]
    Task<DnsRecordList> ListDnsRecordsAsync(
        [AliasAs("customer_id")] string customerId,
        [AliasAs("cloudspace_id")] string cloudspaceId,
        [AliasAs("cs_only")] bool? cloudspaceOnly = null,
        CancellationToken cancellationToken = default);

    /// <summary>Adds a DNS record to the cloudspace (<c>AddCloudspaceDomain</c>).</summary>
    /// <param name="customerId">The customer.</param>
    /// <param name="cloudspaceId">The cloudspace.</param>
    /// <param name="request">The record, sent as query parameters.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <returns>Whether it succeeded.</returns>
    [Post("/alpha/customers/{customer_id}/cloudspaces/{cloudspace_id}/dns")]
    [WhiteskyOperation("AddCloudspaceDomain")]
    Task<SuccessResult> AddDnsRecordAsync(
        [AliasAs("customer_id")] string customerId,
        [AliasAs("cloudspace_id")] string cloudspaceId,
        [Query] AddDnsRecordRequest request,
        CancellationToken cancellationToken = default);

    /// <summary>Deletes a DNS record (<c>DeleteCloudspaceDnsRecord</c>).</summary>
    /// <param name="customerId">The customer.</param>
    /// <param name="cloudspaceId">The cloudspace.</param>
    /// <param name="domain">The domain.</param>
    /// <param name="recordType">The record type (A, AAAA, CNAME, ...).</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <returns>Whether it succeeded.</returns>
    [Delete("/alpha/customers/{customer_id}/cloudspaces/{cloudspace_id}/dns/{domain}")]
    [WhiteskyOperation("DeleteCloudspaceDnsRecord")]
    Task<SuccessResult> DeleteDnsRecordAsync(
        [AliasAs("customer_id")] string customerId,
        [AliasAs("cloudspace_id")] string cloudspaceId,
        [AliasAs("domain")] string domain,
        [AliasAs("record_type")] string recordType,
        CancellationToken cancellationToken = default);
}
