using System.Net.Http.Headers;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Whitesky.Api.Auth;

/// <summary>
/// Holds the JWT and refreshes it through the IAM before its <c>exp</c>. Concurrent callers that find it due share
/// one refresh call.
/// </summary>
internal sealed partial class WhiteskyTokenProvider
{
    /// <summary>The named HttpClient that talks to the IAM.</summary>
    public const string IamClientName = "Whitesky.Iam";

    /// <summary>The operation id refresh failures carry (the IAM call is not in the swagger).</summary>
    public const string RefreshOperationId = "refreshJwt";

    private readonly WhiteskyClientOptions _options;
    private readonly IHttpClientFactory _httpClientFactory;
    private readonly TimeProvider _timeProvider;
    private readonly ILogger<WhiteskyTokenProvider> _logger;
    private readonly Lock _gate = new();
    private string? _token;
    private DateTimeOffset? _expiry;
    private Task<string>? _refreshing;
    private long _refreshCount;
    private int _waitingForRefresh;

    public WhiteskyTokenProvider(IOptions<WhiteskyClientOptions> options, IHttpClientFactory httpClientFactory, TimeProvider timeProvider, ILogger<WhiteskyTokenProvider> logger)
    {
        _options = options.Value;
        _httpClientFactory = httpClientFactory;
        _timeProvider = timeProvider;
        _logger = logger;
        _token = string.IsNullOrWhiteSpace(_options.Jwt) ? null : _options.Jwt.Trim();
        _expiry = _token is null ? null : JwtToken.ReadExpiry(_token);
    }

    /// <summary>How many refresh calls went to the IAM.</summary>
    public long RefreshCount => Interlocked.Read(ref _refreshCount);

    /// <summary>How many callers are waiting for the refresh in progress.</summary>
    public int WaitingForRefresh => Volatile.Read(ref _waitingForRefresh);

    /// <summary>The token to send now, refreshed first when it is due; null when no JWT is configured.</summary>
    public async ValueTask<string?> GetTokenAsync(CancellationToken cancellationToken)
    {
        Task<string> refresh;
        lock (_gate)
        {
            if (_token is null || _options.IamUrl is null || _expiry is null
                || _timeProvider.GetUtcNow() < _expiry.Value - _options.RefreshBeforeExpiry)
            {
                return _token;
            }

            refresh = _refreshing ??= RefreshAsync(_token);
        }

        Interlocked.Increment(ref _waitingForRefresh);
        try
        {
            return await refresh.WaitAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (WhiteskyApiException e) when (!IsExpired())
        {
            // The old token is still valid: use it and try again on the next call.
            LogRefreshFailed(_logger, e.StatusCode is { } s ? (int)s : 0);
            lock (_gate)
            {
                return _token;
            }
        }
        finally
        {
            Interlocked.Decrement(ref _waitingForRefresh);
        }
    }

    /// <summary>Whether a refresh is possible at all (a JWT and an IAM URL are configured).</summary>
    public bool CanRefresh => _options.IamUrl is not null && _token is not null;

    /// <summary>
    /// Refreshes after the platform refused <paramref name="rejected"/> (for example a token revoked before its
    /// <c>exp</c>). If another caller already replaced that token, the current one is returned without a new refresh.
    /// </summary>
    /// <returns>The token to retry with, or null when no other token can be had.</returns>
    public async ValueTask<string?> RefreshAfterRejectionAsync(string rejected, CancellationToken cancellationToken)
    {
        Task<string> refresh;
        lock (_gate)
        {
            if (_options.IamUrl is null || _token is null)
            {
                return null;
            }

            if (!string.Equals(_token, rejected, StringComparison.Ordinal))
            {
                return _token;
            }

            refresh = _refreshing ??= RefreshAsync(_token);
        }

        Interlocked.Increment(ref _waitingForRefresh);
        try
        {
            var token = await refresh.WaitAsync(cancellationToken).ConfigureAwait(false);
            return string.Equals(token, rejected, StringComparison.Ordinal) ? null : token;
        }
        catch (WhiteskyApiException e)
        {
            LogRefreshFailed(_logger, e.StatusCode is { } s ? (int)s : 0);
            return null;
        }
        finally
        {
            Interlocked.Decrement(ref _waitingForRefresh);
        }
    }

    private bool IsExpired()
    {
        lock (_gate)
        {
            return _expiry is { } e && _timeProvider.GetUtcNow() >= e;
        }
    }

    private async Task<string> RefreshAsync(string current)
    {
        // Run off the caller's stack and cancellation: callers that give up do not cancel the shared refresh.
        await Task.Yield();
        try
        {
            Interlocked.Increment(ref _refreshCount);
            var url = new Uri(_options.IamUrl!.AbsoluteUri.TrimEnd('/') + "/v1/oauth/jwt/refresh");
            using var cts = new CancellationTokenSource(_options.AttemptTimeout, _timeProvider);
            var client = _httpClientFactory.CreateClient(IamClientName);
            using var request = new HttpRequestMessage(HttpMethod.Get, url);
            request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", current);
            HttpResponseMessage response;
            try
            {
                response = await client.SendAsync(request, cts.Token).ConfigureAwait(false);
            }
            catch (Exception e) when (e is HttpRequestException or OperationCanceledException or IOException)
            {
                throw new WhiteskyApiException(RefreshOperationId, null, null, null, e);
            }

            using (response)
            {
                if (!response.IsSuccessStatusCode)
                {
                    throw await WhiteskyErrorHandler.CreateAsync(RefreshOperationId, response, cts.Token).ConfigureAwait(false);
                }

                var body = await response.Content.ReadAsStringAsync(cts.Token).ConfigureAwait(false);
                var token = JwtToken.ParseRefreshAnswer(body)
                    ?? throw new WhiteskyApiException(RefreshOperationId, response.StatusCode, "the IAM answered without a token", null);
                var expiry = JwtToken.ReadExpiry(token);
                lock (_gate)
                {
                    _token = token;
                    _expiry = expiry;
                }

                LogRefreshed(_logger, expiry);
                return token;
            }
        }
        finally
        {
            lock (_gate)
            {
                _refreshing = null;
            }
        }
    }

    [LoggerMessage(EventId = 10, Level = LogLevel.Information, Message = "whitesky JWT refreshed; it expires at {Expiry}")]
    private static partial void LogRefreshed(ILogger logger, DateTimeOffset? expiry);

    [LoggerMessage(EventId = 11, Level = LogLevel.Warning, Message = "whitesky JWT refresh failed (HTTP {StatusCode}); the current token is still valid and stays in use")]
    private static partial void LogRefreshFailed(ILogger logger, int statusCode);
}
