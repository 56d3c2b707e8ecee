using System.Globalization;
using System.Net;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Whitesky.Emulator.Auth;
using Whitesky.Emulator.Faults;
using Whitesky.Emulator.Routes;

namespace Whitesky.Emulator;

/// <summary>
/// A local whitesky.cloud on 127.0.0.1: the REST operations the SDK uses (same routes, parameters, status codes and
/// JSON as the platform's swagger), bearer JWTs with refresh, disks as sparse files exposed by the SDK's NBD server
/// over TLS-PSK, VMs, CD-ROM uploads and DNS records, plus fault switches for tests.
/// </summary>
/// <example>
/// <code>
/// await using var emulator = await WhiteskyEmulator.StartAsync();
/// using var http = new HttpClient();
/// http.DefaultRequestHeaders.Authorization = new("Bearer", emulator.Jwt);
/// var disks = await http.GetStringAsync($"{emulator.BaseUrl}/customers/{emulator.CustomerId}/locations/{emulator.Location}/disks");
/// </code>
/// </example>
public sealed class WhiteskyEmulator : IAsyncDisposable
{
    private readonly WebApplication _app;
    private readonly EmulatorApi _api;
    private readonly JwtIssuer _jwt;
    private readonly bool _ownsDataDirectory;
    private int _stopped;

    private WhiteskyEmulator(WebApplication app, EmulatorApi api, JwtIssuer jwt, int port, bool ownsDataDirectory)
    {
        _app = app;
        _api = api;
        _jwt = jwt;
        _ownsDataDirectory = ownsDataDirectory;
        Port = port;
        var root = string.Create(CultureInfo.InvariantCulture, $"http://127.0.0.1:{port}");
        BaseUrl = new Uri(root + EmulatorApi.BasePath);
        IamUrl = new Uri(root + EmulatorApi.IamPath);
        AdminUrl = new Uri(root + EmulatorApi.AdminPath);
        Jwt = jwt.Issue(api.Options.TokenLifetime);
    }

    /// <summary>The TCP port the REST API listens on (127.0.0.1).</summary>
    public int Port { get; }

    /// <summary>The API's base URL, as the platform's <c>https://HOST/api/1</c>: <c>http://127.0.0.1:PORT/api/1</c>.</summary>
    public Uri BaseUrl { get; }

    /// <summary>The IAM URL for token refresh (<c>GET {IamUrl}/v1/oauth/jwt/refresh</c>): <c>http://127.0.0.1:PORT/iam</c>.</summary>
    public Uri IamUrl { get; }

    /// <summary>The emulator's own routes (fault switches, new JWTs, recorded state): <c>http://127.0.0.1:PORT/_emulator</c>.</summary>
    public Uri AdminUrl { get; }

    /// <summary>A JWT issued at start, valid for <see cref="WhiteskyEmulatorOptions.TokenLifetime"/>.</summary>
    public string Jwt { get; }

    /// <summary>The customer id of every route.</summary>
    public string CustomerId => _api.Options.CustomerId;

    /// <summary>The cloudspace id of VM, exposure and DNS routes.</summary>
    public string CloudspaceId => _api.Options.CloudspaceId;

    /// <summary>The location of disk and CD-ROM routes.</summary>
    public string Location => _api.Options.Location;

    /// <summary>Where disk files (<c>disks/</c>), CD-ROM images (<c>cdroms/</c>) and upload parts (<c>uploads/</c>) live.</summary>
    public string DataDirectory => _api.DataDirectory;

    /// <summary>The fault switches.</summary>
    public EmulatorFaults Faults => _api.Faults;

    /// <summary>Issues a new JWT, valid for <paramref name="lifetime"/> (default <see cref="WhiteskyEmulatorOptions.TokenLifetime"/>).</summary>
    public string IssueJwt(TimeSpan? lifetime = null)
    {
        if (lifetime is { } value)
        {
            ArgumentOutOfRangeException.ThrowIfLessThan(value, TimeSpan.FromSeconds(1), nameof(lifetime));
        }

        return _jwt.Issue(lifetime ?? _api.Options.TokenLifetime);
    }

    /// <summary>Starts an emulator and returns once it accepts requests.</summary>
    /// <exception cref="IOException">The port is in use.</exception>
    public static async Task<WhiteskyEmulator> StartAsync(WhiteskyEmulatorOptions? options = null, CancellationToken cancellationToken = default)
    {
        options ??= new WhiteskyEmulatorOptions();
        options.Validate();
        var ownsDataDirectory = options.DataDirectory is null;
        var dataDirectory = options.DataDirectory is { } given
            ? Directory.CreateDirectory(Path.GetFullPath(given)).FullName
            : Directory.CreateTempSubdirectory("whitesky-emulator-").FullName;

        var loggerFactory = options.LoggerFactory ?? NullLoggerFactory.Instance;
        var jwt = new JwtIssuer(options.UserName, options.TimeProvider);
        var api = new EmulatorApi(options, dataDirectory, jwt, new EmulatorFaults(), loggerFactory.CreateLogger<WhiteskyEmulator>());
        WebApplication? app = null;
        try
        {
            var builder = WebApplication.CreateSlimBuilder(new WebApplicationOptions { Args = [], ContentRootPath = dataDirectory });
            // The host's own logs (binding, shutdown) stay out of the caller's logs; failures surface as exceptions.
            builder.Logging.ClearProviders();
            builder.WebHost.UseKestrel(kestrel =>
            {
                kestrel.Listen(IPAddress.Loopback, options.Port);
                kestrel.Limits.MaxRequestBodySize = (long)options.CdromPartSize + (1 << 20);
            });
            app = builder.Build();
            api.Map(app);
            await app.StartAsync(cancellationToken).ConfigureAwait(false);
            var address = app.Services.GetRequiredService<IServer>().Features.GetRequiredFeature<IServerAddressesFeature>().Addresses.First();
            var port = new Uri(address).Port;
            return new WhiteskyEmulator(app, api, jwt, port, ownsDataDirectory);
        }
        catch
        {
            if (app is not null)
            {
                await app.DisposeAsync().ConfigureAwait(false);
            }

            await api.DisposeAsync().ConfigureAwait(false);
            jwt.Dispose();
            if (ownsDataDirectory)
            {
                Directory.Delete(dataDirectory, recursive: true);
            }

            throw;
        }
    }

    /// <summary>Blocks until the emulator is stopped (by <see cref="StopAsync"/> or the token).</summary>
    public Task WaitForShutdownAsync(CancellationToken cancellationToken = default) => _app.WaitForShutdownAsync(cancellationToken);

    /// <summary>Stops the REST API and every exposure; removes the data directory if the emulator made it.</summary>
    public async Task StopAsync(CancellationToken cancellationToken = default)
    {
        if (Interlocked.Exchange(ref _stopped, 1) != 0)
        {
            return;
        }

        await _app.StopAsync(cancellationToken).ConfigureAwait(false);
        await _api.DisposeAsync().ConfigureAwait(false);
        await _app.DisposeAsync().ConfigureAwait(false);
        _jwt.Dispose();
        if (_ownsDataDirectory)
        {
            try
            {
                Directory.Delete(DataDirectory, recursive: true);
            }
            catch (IOException)
            {
                // A file still open elsewhere; the folder is under the temporary directory anyway.
            }
        }
    }

    /// <summary>Stops the emulator (see <see cref="StopAsync"/>).</summary>
    public async ValueTask DisposeAsync() => await StopAsync().ConfigureAwait(false);

    /// <summary>Describes the emulator without its JWT.</summary>
    public override string ToString() => $"whitesky emulator at {BaseUrl} (data in {DataDirectory})";
}
