using System.Collections.Frozen;
using System.Reflection;
using Refit;

namespace Whitesky.Api.Apis;

/// <summary>Every Refit method of the client with its swagger operation: the lookup errors use to name a failed call.</summary>
internal static class WhiteskyOperations
{
    public static IReadOnlyList<Type> Interfaces { get; } =
    [
        typeof(IMeApi), typeof(ILocationsApi), typeof(ICloudspacesApi), typeof(IDisksApi),
        typeof(IExposedDisksApi), typeof(IVirtualMachinesApi), typeof(ICdromImagesApi), typeof(IDnsApi),
    ];

    private static readonly FrozenDictionary<string, string> ByRoute = Interfaces
        .SelectMany(i => i.GetMethods())
        .Select(m => (Http: m.GetCustomAttribute<HttpMethodAttribute>(), Op: m.GetCustomAttribute<WhiteskyOperationAttribute>()))
        .Where(x => x.Http is not null && x.Op is not null)
        .ToFrozenDictionary(x => Key(x.Http!.Method.Method, x.Http.Path), x => x.Op!.OperationId, StringComparer.Ordinal);

    /// <summary>The operation id of a request Refit built, or "METHOD path" when it is not one of ours.</summary>
    public static string Identify(HttpRequestMessage request)
    {
        if (request.Options.TryGetValue(new HttpRequestOptionsKey<string>(HttpRequestMessageOptions.RelativePathTemplate), out var template)
            && ByRoute.TryGetValue(Key(request.Method.Method, template), out var operationId))
        {
            return operationId;
        }

        return $"{request.Method.Method} {request.RequestUri?.AbsolutePath ?? "?"}";
    }

    private static string Key(string method, string path) => method + " " + path;
}
