using System.Net;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Http.Resilience;
using Microsoft.Extensions.Options;
using Polly;
using Polly.Timeout;
using Refit;
using Whitesky.Api;
using Whitesky.Api.Apis;
using Whitesky.Api.Auth;
using Whitesky.Api.Models;

namespace Microsoft.Extensions.DependencyInjection;

/// <summary>Registers the whitesky API client: the Refit interfaces, <see cref="WhiteskyClient"/>, auth, errors and resilience.</summary>
public static class WhiteskyServiceCollectionExtensions
{
    /// <summary>Registers the client with options set in code.</summary>
    /// <param name="services">The service collection.</param>
    /// <param name="configure">Sets the options (base URL, JWT, IAM URL, context, timeouts).</param>
    /// <returns>The service collection.</returns>
    public static IServiceCollection AddWhiteskyApi(this IServiceCollection services, Action<WhiteskyClientOptions> configure)
    {
        ArgumentNullException.ThrowIfNull(services);
        ArgumentNullException.ThrowIfNull(configure);
        services.AddOptions<WhiteskyClientOptions>().Configure(configure);
        return AddCore(services);
    }

    /// <summary>Registers the client with options bound from the configuration section <c>Whitesky</c> (<c>Whitesky:BaseUrl</c>, <c>Whitesky:Jwt</c>, ...).</summary>
    /// <param name="services">The service collection.</param>
    /// <param name="configuration">The configuration root (or any configuration that has a <c>Whitesky</c> section).</param>
    /// <param name="configure">Optionally adjusts the bound options.</param>
    /// <returns>The service collection.</returns>
    public static IServiceCollection AddWhiteskyApi(this IServiceCollection services, IConfiguration configuration, Action<WhiteskyClientOptions>? configure = null)
    {
        ArgumentNullException.ThrowIfNull(services);
        ArgumentNullException.ThrowIfNull(configuration);
        var builder = services.AddOptions<WhiteskyClientOptions>().Bind(configuration.GetSection(WhiteskyClientOptions.SectionName));
        if (configure is not null)
        {
            builder.Configure(configure);
        }

        return AddCore(services);
    }

    private static IServiceCollection AddCore(IServiceCollection services)
    {
        services.AddLogging();
        services.TryAddSingleton(TimeProvider.System);
        services.AddOptions<WhiteskyClientOptions>().Validate(o =>
        {
            o.Validate();
            return true;
        });
        services.TryAddSingleton<WhiteskyTokenProvider>();
        services.TryAddTransient<BearerTokenHandler>();
        services.TryAddTransient<WhiteskyErrorHandler>();
        services.AddHttpClient(WhiteskyTokenProvider.IamClientName, (sp, client) => client.Timeout = Timeout.InfiniteTimeSpan);

        var settings = CreateRefitSettings();
        AddApi<IMeApi>(services, settings);
        AddApi<ILocationsApi>(services, settings);
        AddApi<ICloudspacesApi>(services, settings);
        AddApi<IDisksApi>(services, settings);
        AddApi<IExposedDisksApi>(services, settings);
        AddApi<IVirtualMachinesApi>(services, settings);
        AddApi<ICdromImagesApi>(services, settings);
        AddApi<IDnsApi>(services, settings);
        services.TryAddSingleton<WhiteskyClient>();
        return services;
    }

    internal static RefitSettings CreateRefitSettings() => new()
    {
        ContentSerializer = SystemTextJsonContentSerializer.ForContext(WhiteskyJsonContext.Default),
        UrlParameterFormatter = new WhiteskyUrlParameterFormatter(),
        // JSON bodies are small; buffered they can be sent again (a retry, or a resend after a 401 and a token refresh).
        Buffered = true,
        // Error statuses never reach Refit (WhiteskyErrorHandler throws first); exceptions from the handlers stay as they are.
        TransportExceptionFactory = (_, exception, _) => exception,
        DeserializationExceptionFactory = (response, exception) => ValueTask.FromResult<Exception?>(new WhiteskyApiException(
            response.RequestMessage is { } request ? WhiteskyOperations.Identify(request) : "unknown",
            response.StatusCode,
            "the response body does not match the swagger model: " + SecretScrubber.Scrub(exception.Message),
            null,
            exception)),
    };

    private static void AddApi<TApi>(IServiceCollection services, RefitSettings settings)
        where TApi : class
    {
        var builder = services.AddRefitGeneratedClient<TApi>(settings)
            .ConfigureHttpClient((sp, client) =>
            {
                var options = sp.GetRequiredService<IOptions<WhiteskyClientOptions>>().Value;
                client.BaseAddress = new Uri(options.BaseUrl!.AbsoluteUri.TrimEnd('/'));
                client.Timeout = Timeout.InfiniteTimeSpan;
            })
            .AddHttpMessageHandler<WhiteskyErrorHandler>();
        builder.AddResilienceHandler("whitesky", static (pipeline, context) =>
            {
                var options = context.ServiceProvider.GetRequiredService<IOptions<WhiteskyClientOptions>>().Value;
                pipeline.AddTimeout(new HttpTimeoutStrategyOptions { Name = "total", Timeout = options.TotalTimeout });
                if (options.MaxRetries > 0)
                {
                    pipeline.AddRetry(new HttpRetryStrategyOptions
                    {
                        Name = "idempotent-retry",
                        MaxRetryAttempts = options.MaxRetries,
                        BackoffType = DelayBackoffType.Exponential,
                        UseJitter = true,
                        Delay = options.RetryBaseDelay,
                        ShouldRetryAfterHeader = true,
                        ShouldHandle = static args => ValueTask.FromResult(ShouldRetry(args.Context, args.Outcome)),
                    });
                }

                pipeline.AddTimeout(new HttpTimeoutStrategyOptions { Name = "attempt", Timeout = options.AttemptTimeout });
            });
        builder.AddHttpMessageHandler<BearerTokenHandler>();
    }

    /// <summary>Retry only idempotent methods, and only on 429, 503, connection errors and attempt timeouts.</summary>
    internal static bool ShouldRetry(ResilienceContext context, Outcome<HttpResponseMessage> outcome)
    {
        var method = context.GetRequestMessage()?.Method ?? outcome.Result?.RequestMessage?.Method;
        if (method is null || !IsIdempotent(method))
        {
            return false;
        }

        return outcome.Exception switch
        {
            HttpRequestException or TimeoutRejectedException => true,
            null => outcome.Result?.StatusCode is HttpStatusCode.TooManyRequests or HttpStatusCode.ServiceUnavailable,
            _ => false,
        };
    }

    internal static bool IsIdempotent(HttpMethod method) =>
        method == HttpMethod.Get || method == HttpMethod.Put || method == HttpMethod.Delete || method == HttpMethod.Head || method == HttpMethod.Options;
}
