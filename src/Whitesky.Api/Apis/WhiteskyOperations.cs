using System.Collections.Frozen;
using System.Diagnostics.CodeAnalysis;
using System.Reflection;
using Refit;

namespace Whitesky.Api.Apis;

/// <summary>Every Refit method of the client with its swagger operation: the lookup errors use to name a failed call.</summary>
internal static class WhiteskyOperations
{
    // Each interface is named with typeof(...) where its methods are read, so that trimming keeps the methods and their
    // attributes (the native-AOT whitesky-migrate).
    private static readonly (Type Type, MethodInfo[] Methods)[] Apis =
    [
        Api(typeof(IMeApi)), Api(typeof(ILocationsApi)), Api(typeof(ICloudspacesApi)), Api(typeof(IDisksApi)),
        Api(typeof(IExposedDisksApi)), Api(typeof(IVirtualMachinesApi)), Api(typeof(ICdromImagesApi)), Api(typeof(IDnsApi)),
    ];

    public static IReadOnlyList<Type> Interfaces { get; } = [.. Apis.Select(a => a.Type)];

    private static readonly FrozenDictionary<string, string> ByRoute = Apis
        .SelectMany(a => a.Methods)
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

    private static (Type, MethodInfo[]) Api([DynamicallyAccessedMembers(DynamicallyAccessedMemberTypes.PublicMethods)] Type type) =>
        (type, type.GetMethods());
}
