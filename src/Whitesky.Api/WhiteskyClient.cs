using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Whitesky.Api.Apis;
using Whitesky.Api.Models;

namespace Whitesky.Api;

/// <summary>
/// The whitesky API with a customer, cloudspace and location context: every operation the migration paths use,
/// waiting helpers, and the CD-ROM multipart upload. The per-resource Refit interfaces are available as properties
/// for anything the façade does not cover. Failures throw <see cref="WhiteskyApiException"/>.
/// </summary>
public partial class WhiteskyClient : IDisposable
{
    private readonly IDisposable? _owned;
    private readonly WhiteskyClientOptions _options;
    private readonly TimeProvider _timeProvider;

    /// <summary>Creates a client over the given APIs (dependency injection uses this).</summary>
    /// <param name="me">The <c>/me</c> API.</param>
    /// <param name="locations">The locations API.</param>
    /// <param name="cloudspaces">The cloudspaces API.</param>
    /// <param name="disks">The disks API.</param>
    /// <param name="exposedDisks">The exposed-disks API.</param>
    /// <param name="virtualMachines">The VM API.</param>
    /// <param name="cdromImages">The CD-ROM images API.</param>
    /// <param name="dns">The DNS API.</param>
    /// <param name="options">The options: the context and the waiting/upload settings.</param>
    /// <param name="timeProvider">The clock of the waiting helpers (<see cref="TimeProvider.System"/> when null).</param>
    public WhiteskyClient(
        IMeApi me,
        ILocationsApi locations,
        ICloudspacesApi cloudspaces,
        IDisksApi disks,
        IExposedDisksApi exposedDisks,
        IVirtualMachinesApi virtualMachines,
        ICdromImagesApi cdromImages,
        IDnsApi dns,
        IOptions<WhiteskyClientOptions> options,
        TimeProvider? timeProvider = null)
        : this(me, locations, cloudspaces, disks, exposedDisks, virtualMachines, cdromImages, dns,
            (options ?? throw new ArgumentNullException(nameof(options))).Value, timeProvider ?? TimeProvider.System,
            options.Value.CustomerId, options.Value.CloudspaceId, options.Value.Location, null)
    {
    }

    private WhiteskyClient(
        IMeApi me, ILocationsApi locations, ICloudspacesApi cloudspaces, IDisksApi disks, IExposedDisksApi exposedDisks,
        IVirtualMachinesApi virtualMachines, ICdromImagesApi cdromImages, IDnsApi dns, WhiteskyClientOptions options,
        TimeProvider timeProvider, string? customerId, string? cloudspaceId, string? location, IDisposable? owned)
    {
        Me = me ?? throw new ArgumentNullException(nameof(me));
        Locations = locations ?? throw new ArgumentNullException(nameof(locations));
        Cloudspaces = cloudspaces ?? throw new ArgumentNullException(nameof(cloudspaces));
        Disks = disks ?? throw new ArgumentNullException(nameof(disks));
        ExposedDisks = exposedDisks ?? throw new ArgumentNullException(nameof(exposedDisks));
        VirtualMachines = virtualMachines ?? throw new ArgumentNullException(nameof(virtualMachines));
        CdromImages = cdromImages ?? throw new ArgumentNullException(nameof(cdromImages));
        Dns = dns ?? throw new ArgumentNullException(nameof(dns));
        _options = options;
        _timeProvider = timeProvider;
        CustomerId = customerId;
        CloudspaceId = cloudspaceId;
        Location = location;
        _owned = owned;
    }

    /// <summary>
    /// Creates a stand-alone client (its own HttpClient pipeline with auth, retries and timeouts). Dispose it when
    /// done. Applications with dependency injection use <c>services.AddWhiteskyApi(...)</c> instead.
    /// </summary>
    /// <param name="options">The options.</param>
    /// <param name="loggerFactory">Where to log (nothing is logged when null).</param>
    /// <returns>The client.</returns>
    public static WhiteskyClient Create(WhiteskyClientOptions options, ILoggerFactory? loggerFactory = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        var services = new ServiceCollection();
        if (loggerFactory is not null)
        {
            services.AddSingleton(loggerFactory);
        }

        services.AddWhiteskyApi(o => Copy(options, o));
        var provider = services.BuildServiceProvider();
        var inner = provider.GetRequiredService<WhiteskyClient>();
        return new WhiteskyClient(inner.Me, inner.Locations, inner.Cloudspaces, inner.Disks, inner.ExposedDisks, inner.VirtualMachines,
            inner.CdromImages, inner.Dns, inner._options, inner._timeProvider, inner.CustomerId, inner.CloudspaceId, inner.Location, provider);
    }

    /// <summary>The default customer of calls (from the options or <see cref="WithContext"/>).</summary>
    public string? CustomerId { get; }

    /// <summary>The default cloudspace of calls.</summary>
    public string? CloudspaceId { get; }

    /// <summary>The default location of calls.</summary>
    public string? Location { get; }

    /// <summary>The <c>/me</c> API.</summary>
    public IMeApi Me { get; }

    /// <summary>The locations API.</summary>
    public ILocationsApi Locations { get; }

    /// <summary>The cloudspaces API.</summary>
    public ICloudspacesApi Cloudspaces { get; }

    /// <summary>The disks API.</summary>
    public IDisksApi Disks { get; }

    /// <summary>The exposed-disks API.</summary>
    public IExposedDisksApi ExposedDisks { get; }

    /// <summary>The VM API.</summary>
    public IVirtualMachinesApi VirtualMachines { get; }

    /// <summary>The CD-ROM images API.</summary>
    public ICdromImagesApi CdromImages { get; }

    /// <summary>The DNS API.</summary>
    public IDnsApi Dns { get; }

    /// <summary>A client that shares this one's connections but calls with another context; null keeps the current value.</summary>
    /// <param name="customerId">The customer.</param>
    /// <param name="cloudspaceId">The cloudspace.</param>
    /// <param name="location">The location.</param>
    /// <returns>The new client (disposing it does nothing; dispose the original).</returns>
    public WhiteskyClient WithContext(string? customerId = null, string? cloudspaceId = null, string? location = null) =>
        new(Me, Locations, Cloudspaces, Disks, ExposedDisks, VirtualMachines, CdromImages, Dns, _options, _timeProvider,
            customerId ?? CustomerId, cloudspaceId ?? CloudspaceId, location ?? Location, null);

    /// <summary>Releases the HttpClient pipeline of a client made by <see cref="Create"/>.</summary>
    public void Dispose()
    {
        Dispose(true);
        GC.SuppressFinalize(this);
    }

    /// <summary>Releases resources.</summary>
    /// <param name="disposing">True from <see cref="Dispose()"/>.</param>
    protected virtual void Dispose(bool disposing)
    {
        if (disposing)
        {
            _owned?.Dispose();
        }
    }

    private string Customer => CustomerId ?? throw MissingContext(nameof(CustomerId));

    private string Cloudspace => CloudspaceId ?? throw MissingContext(nameof(CloudspaceId));

    private string Loc => Location ?? throw MissingContext(nameof(Location));

    private static InvalidOperationException MissingContext(string name) =>
        new($"{WhiteskyClientOptions.SectionName}:{name} is not set: configure it or call {nameof(WithContext)}(...) first.");

    private static void Copy(WhiteskyClientOptions from, WhiteskyClientOptions to)
    {
        to.BaseUrl = from.BaseUrl;
        to.Jwt = from.Jwt;
        to.IamUrl = from.IamUrl;
        to.CustomerId = from.CustomerId;
        to.CloudspaceId = from.CloudspaceId;
        to.Location = from.Location;
        to.RefreshBeforeExpiry = from.RefreshBeforeExpiry;
        to.AttemptTimeout = from.AttemptTimeout;
        to.TotalTimeout = from.TotalTimeout;
        to.MaxRetries = from.MaxRetries;
        to.RetryBaseDelay = from.RetryBaseDelay;
        to.PollInterval = from.PollInterval;
        to.UploadParallelism = from.UploadParallelism;
    }
}
