using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Whitesky.Api.Tests.Peers;

/// <summary>Builds a client through the real DI registration, pointed at a scripted server, with short delays.</summary>
public static class ClientFactory
{
    public static (WhiteskyClient Client, ServiceProvider Services) Create(ScriptedHttpServer server, Action<WhiteskyClientOptions>? configure = null, CapturingLoggerProvider? logs = null)
    {
        var services = new ServiceCollection();
        services.AddLogging(b =>
        {
            b.SetMinimumLevel(LogLevel.Trace);
            if (logs is not null)
            {
                b.AddProvider(logs);
            }
        });
        services.AddWhiteskyApi(o =>
        {
            o.BaseUrl = server.ApiUrl;
            o.Jwt = TestJwt.Create(DateTimeOffset.UtcNow.AddHours(1));
            o.CustomerId = "cust-1";
            o.CloudspaceId = "cs-1";
            o.Location = "loc-1";
            o.RetryBaseDelay = TimeSpan.FromMilliseconds(5);
            o.PollInterval = TimeSpan.FromMilliseconds(5);
            o.AttemptTimeout = TimeSpan.FromSeconds(10);
            o.TotalTimeout = TimeSpan.FromSeconds(30);
            configure?.Invoke(o);
        });
        var provider = services.BuildServiceProvider();
        return (provider.GetRequiredService<WhiteskyClient>(), provider);
    }
}
