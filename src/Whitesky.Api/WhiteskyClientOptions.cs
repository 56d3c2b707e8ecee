namespace Whitesky.Api;

/// <summary>
/// Where the whitesky API is, how to authenticate, which customer/cloudspace/location calls default to, and the
/// timeouts and retries. Bound from the configuration section <c>Whitesky</c> by
/// <c>services.AddWhiteskyApi(configuration)</c>.
/// </summary>
public sealed class WhiteskyClientOptions
{
    /// <summary>The configuration section the options bind from.</summary>
    public const string SectionName = "Whitesky";

    /// <summary>The API's base URL including its base path, for example <c>https://try.whitesky.cloud/api/1</c>.</summary>
    public Uri? BaseUrl { get; set; }

    /// <summary>The JWT sent as bearer token. Never logged, never in an exception or <c>ToString()</c>.</summary>
    public string? Jwt { get; set; }

    /// <summary>
    /// The IAM service that refreshes the JWT (<c>GET {IamUrl}/v1/oauth/jwt/refresh</c>). Without it the JWT is
    /// used until the platform refuses it.
    /// </summary>
    public Uri? IamUrl { get; set; }

    /// <summary>The default customer id of <see cref="WhiteskyClient"/> calls.</summary>
    public string? CustomerId { get; set; }

    /// <summary>The default cloudspace id of <see cref="WhiteskyClient"/> calls.</summary>
    public string? CloudspaceId { get; set; }

    /// <summary>The default location of <see cref="WhiteskyClient"/> calls.</summary>
    public string? Location { get; set; }

    /// <summary>How long before the JWT's <c>exp</c> it is refreshed (default one minute).</summary>
    public TimeSpan RefreshBeforeExpiry { get; set; } = TimeSpan.FromMinutes(1);

    /// <summary>Timeout of one HTTP attempt (default 30 s).</summary>
    public TimeSpan AttemptTimeout { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>Timeout of a call including its retries (default 2 min).</summary>
    public TimeSpan TotalTimeout { get; set; } = TimeSpan.FromMinutes(2);

    /// <summary>
    /// Retries of an idempotent call (GET, PUT, DELETE) after 429, 503, a connection error or an attempt timeout
    /// (default 3). POST calls are never retried.
    /// </summary>
    public int MaxRetries { get; set; } = 3;

    /// <summary>The first retry delay; later ones grow exponentially with jitter (default 1 s). A <c>Retry-After</c> header wins.</summary>
    public TimeSpan RetryBaseDelay { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>How often the waiting helpers poll (default 2 s).</summary>
    public TimeSpan PollInterval { get; set; } = TimeSpan.FromSeconds(2);

    /// <summary>How many CD-ROM parts are uploaded at once (default 4).</summary>
    public int UploadParallelism { get; set; } = 4;

    internal void Validate()
    {
        if (BaseUrl is null || !BaseUrl.IsAbsoluteUri)
        {
            throw new InvalidOperationException($"{SectionName}:{nameof(BaseUrl)} must be an absolute URL such as https://try.whitesky.cloud/api/1.");
        }

        if (IamUrl is not null && !IamUrl.IsAbsoluteUri)
        {
            throw new InvalidOperationException($"{SectionName}:{nameof(IamUrl)} must be an absolute URL.");
        }

        if (AttemptTimeout <= TimeSpan.Zero || TotalTimeout <= TimeSpan.Zero || PollInterval <= TimeSpan.Zero || RetryBaseDelay < TimeSpan.Zero)
        {
            throw new InvalidOperationException($"{SectionName}: timeouts and intervals must be positive.");
        }

        if (MaxRetries < 0 || UploadParallelism < 1)
        {
            throw new InvalidOperationException($"{SectionName}: {nameof(MaxRetries)} must be at least 0 and {nameof(UploadParallelism)} at least 1.");
        }
    }
}
