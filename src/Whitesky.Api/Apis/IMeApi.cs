using Refit;

namespace Whitesky.Api.Apis;

/// <summary>The calling user (<c>/me</c>).</summary>
public interface IMeApi
{
    /// <summary>Returns a fresh JWT for the calling user (<c>getCurrentUserJWT</c>).</summary>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <returns>The response body: the JWT, possibly JSON-quoted.</returns>
    [Get("/me/jwt")]
    [WhiteskyOperation("getCurrentUserJWT")]
    Task<string> GetCurrentUserJwtAsync(CancellationToken cancellationToken = default);
}
