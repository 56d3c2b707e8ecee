using Refit;
using Whitesky.Api.Models;

namespace Whitesky.Api.Apis;

/// <summary>A customer's cloudspaces.</summary>
public interface ICloudspacesApi
{
    /// <summary>Lists the customer's cloudspaces (<c>listCloudspaces</c>).</summary>
    /// <param name="customerId">The customer.</param>
    /// <param name="query">Filters; null members are not sent.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <returns>The cloudspaces and the status of each location.</returns>
    [Get("/customers/{customer_id}/cloudspaces")]
    [WhiteskyOperation("listCloudspaces")]
    Task<CloudspaceList> ListCloudspacesAsync([AliasAs("customer_id")] string customerId, [Query] ListCloudspacesQuery? query = null, CancellationToken cancellationToken = default);
}
