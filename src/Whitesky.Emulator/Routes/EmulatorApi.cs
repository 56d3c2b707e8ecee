using System.Globalization;
using System.Text.Json;
using System.Text.Json.Serialization;
using System.Text.Json.Serialization.Metadata;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.Logging;
using Whitesky.Emulator.Auth;
using Whitesky.Emulator.Faults;
using Whitesky.Emulator.Http;
using Whitesky.Emulator.Models;
using Whitesky.Emulator.State;

namespace Whitesky.Emulator.Routes;

/// <summary>
/// The REST API: every operation of the SDK's list, under the swagger's base path, each behind the same pipeline
/// (latency fault, bearer JWT check, operation fault, customer/cloudspace/location check, error mapping).
/// </summary>
internal sealed partial class EmulatorApi : IAsyncDisposable
{
    public const string BasePath = "/api/1";
    public const string IamPath = "/iam";
    public const string AdminPath = "/_emulator";

    private static readonly string[] IntegerRouteValues = ["disk_id", "vm_id", "cdrom_id"];
    private readonly List<(string Method, string Path, string OperationId)> _operations = [];
    private readonly SemaphoreSlim _gate = new(1, 1);
    private readonly Dictionary<int, DiskRecord> _disks = [];
    private readonly Dictionary<int, VmRecord> _vms = [];
    private readonly Dictionary<int, CdromRecord> _cdroms = [];
    private readonly Dictionary<string, UploadRecord> _uploads = new(StringComparer.Ordinal);
    private readonly List<DnsRecord> _dns = [];
    private readonly ILogger _logger;
    private int _nextId = 100;

    public EmulatorApi(WhiteskyEmulatorOptions options, string dataDirectory, JwtIssuer jwt, EmulatorFaults faults, ILogger logger)
    {
        Options = options;
        DataDirectory = dataDirectory;
        Jwt = jwt;
        Faults = faults;
        _logger = logger;
        Directory.CreateDirectory(DisksFolder);
        Directory.CreateDirectory(CdromsFolder);
        Directory.CreateDirectory(UploadsFolder);
    }

    public static JsonSerializerOptions Json { get; } = new(JsonSerializerDefaults.Web)
    {
        PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower,
        DictionaryKeyPolicy = null,
        DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
        TypeInfoResolver = EmulatorJsonContext.Default,
    };

    public WhiteskyEmulatorOptions Options { get; }

    public string DataDirectory { get; }

    public JwtIssuer Jwt { get; }

    public EmulatorFaults Faults { get; }

    public IReadOnlyList<(string Method, string Path, string OperationId)> Operations => _operations;

    private string DisksFolder => Path.Combine(DataDirectory, "disks");

    private string CdromsFolder => Path.Combine(DataDirectory, "cdroms");

    private string UploadsFolder => Path.Combine(DataDirectory, "uploads");

    private long Now => Options.TimeProvider.GetUtcNow().ToUnixTimeSeconds();

    private int NextId() => Interlocked.Increment(ref _nextId);

    private DateTimeOffset UtcNow => Options.TimeProvider.GetUtcNow();

    /// <summary>The transitional status to show until the state-transition delay has passed, or null when there is no delay.</summary>
    private Transition? TransitionTo(string status) =>
        Faults.StateTransitionDelay is var delay && delay > TimeSpan.Zero ? new Transition(status, UtcNow + delay) : null;

    public void Map(WebApplication app)
    {
        MapAccount();
        MapDisks();
        MapExposures();
        MapVms();
        MapCdroms();
        MapDns();
        foreach (var (method, path, operationId, handler) in _handlers)
        {
            app.MapMethods(BasePath + ToAspNetRoute(path), [method], context => RunAsync(context, operationId, handler));
        }

        // flask answers an unknown URL with a JSON 404, not an empty body.
        app.MapFallback(BasePath + "/{**path}", () => Error(404, "The requested URL was not found on the server. If you entered the URL manually please check your spelling and try again."));
        app.MapGet(IamPath + "/v1/oauth/jwt/refresh", RefreshAsync);
        MapAdmin(app);
    }

    private readonly List<(string Method, string Path, string OperationId, Func<ApiCall, Task<IResult>> Handler)> _handlers = [];

    private void Op(string method, string path, string operationId, Func<ApiCall, Task<IResult>> handler)
    {
        _operations.Add((method, path, operationId));
        _handlers.Add((method, path, operationId, handler));
    }

    private static string ToAspNetRoute(string swaggerPath)
    {
        var route = swaggerPath;
        foreach (var name in IntegerRouteValues)
        {
            route = route.Replace("{" + name + "}", "{" + name + ":int}", StringComparison.Ordinal);
        }

        return route;
    }

    private async Task RunAsync(HttpContext context, string operationId, Func<ApiCall, Task<IResult>> handler)
    {
        IResult result;
        try
        {
            var latency = Faults.Latency;
            if (latency > TimeSpan.Zero)
            {
                await Task.Delay(latency, Options.TimeProvider, context.RequestAborted).ConfigureAwait(false);
            }

            Authenticate(context);
            var fault = Faults.TakeFailure(operationId);
            switch (fault)
            {
                case EmulatorFaults.AbortBeforeRunning:
                    context.Abort();
                    return;
                case >= 400:
                    throw new ApiError(fault.Value, string.Create(CultureInfo.InvariantCulture, $"Injected fault: {operationId} fails with {fault}"));
            }

            var call = new ApiCall(context, operationId);
            CheckScope(call);
            result = await handler(call).ConfigureAwait(false);
            if (fault == EmulatorFaults.AbortAfterRunning)
            {
                context.Abort();
                return;
            }
        }
        catch (ApiError error)
        {
            result = Error(error.Status, error.Message, error.Errors);
            if (error.Status == 401)
            {
                context.Response.Headers.WWWAuthenticate = "Bearer";
            }
        }
        catch (OperationCanceledException) when (context.RequestAborted.IsCancellationRequested)
        {
            return;
        }
#pragma warning disable CA1031 // Any bug in a handler is answered 500 like the platform, not a dropped connection.
        catch (Exception ex)
#pragma warning restore CA1031
        {
            LogHandlerFailed(_logger, operationId, ex);
            result = Error(500, "Internal Server Error: " + ex.GetType().Name);
        }

        context.Response.Headers["X-Request-Id"] = context.TraceIdentifier;
        await result.ExecuteAsync(context).ConfigureAwait(false);
    }

    internal static IResult Error(int status, string message, IReadOnlyDictionary<string, string>? errors = null) =>
        Results.Json(new ErrorModel(message, errors), JsonInfo<ErrorModel>(), statusCode: status);

    internal static IResult Ok<T>(T value) => new MaskedJsonResult(JsonSerializer.SerializeToNode(value, JsonInfo<T>()));

    /// <summary>The metadata of a shape from <see cref="EmulatorJsonContext"/> (no reflection: fails for a shape missing there).</summary>
    internal static JsonTypeInfo<T> JsonInfo<T>() => (JsonTypeInfo<T>)Json.GetTypeInfo(typeof(T));

    /// <summary>A 200 JSON answer, filtered by the request's <c>X-Fields</c> mask when it has one.</summary>
    private sealed class MaskedJsonResult(System.Text.Json.Nodes.JsonNode? body) : IResult
    {
        public Task ExecuteAsync(HttpContext httpContext)
        {
            var header = httpContext.Request.Headers["X-Fields"].ToString();
            if (header.Length == 0)
            {
                return Results.Json(body, JsonInfo<System.Text.Json.Nodes.JsonNode?>()).ExecuteAsync(httpContext);
            }

            try
            {
                return Results.Json(FieldMask.Parse(header).Apply(body), JsonInfo<System.Text.Json.Nodes.JsonNode?>()).ExecuteAsync(httpContext);
            }
            catch (ApiError error)
            {
                return Error(error.Status, error.Message).ExecuteAsync(httpContext);
            }
        }
    }

    private static IResult Success() => Ok(new SuccessModel(true));

    private void Authenticate(HttpContext context)
    {
        var check = Jwt.Check(BearerToken(context));
        switch (check)
        {
            case JwtCheck.Valid:
                return;
            case JwtCheck.Missing:
                throw new ApiError(401, "Missing Authorization header with a bearer JWT");
            case JwtCheck.Expired:
                throw new ApiError(401, "The JWT has expired; refresh it");
            default:
                throw new ApiError(401, "The JWT is not valid for this platform");
        }
    }

    internal static string? BearerToken(HttpContext context)
    {
        var header = context.Request.Headers.Authorization.ToString();
        const string Bearer = "bearer ";
        return header.StartsWith(Bearer, StringComparison.OrdinalIgnoreCase) ? header[Bearer.Length..].Trim() : null;
    }

    private void CheckScope(ApiCall call)
    {
        var values = call.Http.Request.RouteValues;
        if (values.TryGetValue("customer_id", out var customer) && !string.Equals(customer as string, Options.CustomerId, StringComparison.Ordinal))
        {
            throw new ApiError(404, $"Customer {customer} does not exist");
        }

        if (values.TryGetValue("cloudspace_id", out var cloudspace) && !string.Equals(cloudspace as string, Options.CloudspaceId, StringComparison.Ordinal))
        {
            throw new ApiError(404, $"Cloudspace {cloudspace} does not exist");
        }

        if (values.TryGetValue("location", out var location) && !string.Equals(location as string, Options.Location, StringComparison.Ordinal))
        {
            throw new ApiError(404, $"Location {location} does not exist");
        }
    }

    private async Task<IDisposable> LockAsync(CancellationToken cancellationToken)
    {
        await _gate.WaitAsync(cancellationToken).ConfigureAwait(false);
        return new Releaser(_gate);
    }

    private sealed class Releaser(SemaphoreSlim gate) : IDisposable
    {
        private int _released;

        public void Dispose()
        {
            if (Interlocked.Exchange(ref _released, 1) == 0)
            {
                gate.Release();
            }
        }
    }

    public async ValueTask DisposeAsync()
    {
        await StopImportsAsync().ConfigureAwait(false);
        await _gate.WaitAsync().ConfigureAwait(false);
        try
        {
            foreach (var disk in _disks.Values)
            {
                if (disk.Exposure is { } exposure)
                {
                    disk.Exposure = null;
                    await exposure.DisposeAsync().ConfigureAwait(false);
                }
            }
        }
        finally
        {
            _gate.Release();
        }
    }

    [LoggerMessage(EventId = 1, Level = LogLevel.Error, Message = "Emulator operation {OperationId} failed")]
    private static partial void LogHandlerFailed(ILogger logger, string operationId, Exception exception);
}
