using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;

namespace Whitesky.Api.Auth;

/// <summary>
/// Puts the current JWT on every attempt (inside the retry loop, so a retry after a refresh sends the new one). When
/// the platform answers 401 to a token it has not replaced yet and an IAM URL is configured, the token is refreshed
/// once and the request sent again, if its body can be sent twice.
/// </summary>
internal sealed class BearerTokenHandler(WhiteskyTokenProvider tokens) : DelegatingHandler
{
    protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
    {
        var token = await tokens.GetTokenAsync(cancellationToken).ConfigureAwait(false);
        request.Headers.Authorization = token is null ? null : new AuthenticationHeaderValue("Bearer", token);
        var response = await base.SendAsync(request, cancellationToken).ConfigureAwait(false);
        if (response.StatusCode != HttpStatusCode.Unauthorized || token is null || !tokens.CanRefresh || !CanResend(request.Content))
        {
            return response;
        }

        var fresh = await tokens.RefreshAfterRejectionAsync(token, cancellationToken).ConfigureAwait(false);
        if (fresh is null)
        {
            return response;
        }

        response.Dispose();
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", fresh);
        return await base.SendAsync(request, cancellationToken).ConfigureAwait(false);
    }

    // Content that serializes again on every send; a stream that was read once cannot be.
    private static bool CanResend(HttpContent? content) => content is null or ByteArrayContent or JsonContent or ReadOnlyMemoryContent;
}
