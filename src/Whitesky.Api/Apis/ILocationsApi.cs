using Refit;
using Whitesky.Api.Models;

namespace Whitesky.Api.Apis;

/// <summary>The locations a customer may use.</summary>
public interface ILocationsApi
{
    /// <summary>Lists the customer's locations with their prices (<c>listCustomerLocations</c>).</summary>
    /// <param name="customerId">The customer.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <returns>The currency and one entry per location.</returns>
    [Get("/customers/{customer_id}/locations")]
    [WhiteskyOperation("listCustomerLocations")]
    Task<LocationPricing> ListCustomerLocationsAsync([AliasAs("customer_id")] string customerId, CancellationToken cancellationToken = default);
}
