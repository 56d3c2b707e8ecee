using System.Net.Http.Headers;

namespace Whitesky.Api.Auth;

/// <summary>Puts the current JWT on every attempt (inside the retry loop, so a retry after a refresh sends the new one).</summary>
internal sealed class BearerTokenHandler(WhiteskyTokenProvider tokens) : DelegatingHandler
{
    protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
    {
        var token = await tokens.GetTokenAsync(cancellationToken).ConfigureAwait(false);
        request.Headers.Authorization = token is null ? null : new AuthenticationHeaderValue("Bearer", token);
        return await base.SendAsync(request, cancellationToken).ConfigureAwait(false);
    }
}
