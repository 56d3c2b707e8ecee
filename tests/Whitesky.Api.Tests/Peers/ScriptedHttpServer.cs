using System.Collections.Concurrent;
using System.Net;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Whitesky.Api.Tests.Peers;

/// <summary>One request as the server saw it.</summary>
public sealed record RecordedRequest(string Method, string Path, string Query, IReadOnlyDictionary<string, string> Headers, byte[] Body)
{
    public string BodyText => System.Text.Encoding.UTF8.GetString(Body);

    public string? Authorization => Headers.TryGetValue("Authorization", out var v) ? v : null;

    /// <summary>The decoded query parameters in order.</summary>
    public IReadOnlyList<KeyValuePair<string, string>> QueryPairs =>
        Microsoft.AspNetCore.WebUtilities.QueryHelpers.ParseQuery(Query)
            .SelectMany(kv => kv.Value.Select(v => new KeyValuePair<string, string>(kv.Key, v ?? "")))
            .ToList();
}

/// <summary>
/// A real HTTP server (Kestrel on 127.0.0.1, a free port) whose answers the test scripts: status codes, bodies,
/// headers, latency. Every request is recorded. It stands in for the platform until the emulator lands.
/// </summary>
public sealed class ScriptedHttpServer : IAsyncDisposable
{
    private readonly WebApplication _app;
    private readonly ConcurrentQueue<RecordedRequest> _requests = new();
    private Func<RecordedRequest, HttpContext, Task> _handler = (_, ctx) =>
    {
        ctx.Response.StatusCode = 404;
        return Task.CompletedTask;
    };

    private ScriptedHttpServer(WebApplication app) => _app = app;

    public Uri BaseAddress { get; private set; } = null!;

    /// <summary>The API base URL the client is given (the swagger's base path).</summary>
    public Uri ApiUrl => new(BaseAddress, "/api/1");

    /// <summary>The IAM base URL the client is given.</summary>
    public Uri IamUrl => new(BaseAddress, "/iam");

    public IReadOnlyList<RecordedRequest> Requests => _requests.ToArray();

    public static async Task<ScriptedHttpServer> StartAsync()
    {
        var builder = WebApplication.CreateEmptyBuilder(new WebApplicationOptions());
        builder.WebHost.UseKestrel(k => k.Listen(IPAddress.Loopback, 0));
        builder.Logging.ClearProviders();
        var app = builder.Build();
        var server = new ScriptedHttpServer(app);
        app.Run(server.HandleAsync);
        await app.StartAsync();
        var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.Single();
        server.BaseAddress = new Uri(address);
        return server;
    }

    /// <summary>Sets how every request is answered from now on.</summary>
    public void Handle(Func<RecordedRequest, HttpContext, Task> handler) => _handler = handler;

    /// <summary>Answers every request with a fixed status and JSON body.</summary>
    public void AnswerJson(int status, string json, IDictionary<string, string>? headers = null) => Handle((_, ctx) => WriteJsonAsync(ctx, status, json, headers));

    public static async Task WriteJsonAsync(HttpContext ctx, int status, string json, IDictionary<string, string>? headers = null)
    {
        ctx.Response.StatusCode = status;
        foreach (var (k, v) in headers ?? new Dictionary<string, string>())
        {
            ctx.Response.Headers[k] = v;
        }

        ctx.Response.ContentType = "application/json";
        await ctx.Response.WriteAsync(json);
    }

    private async Task HandleAsync(HttpContext ctx)
    {
        using var body = new MemoryStream();
        await ctx.Request.Body.CopyToAsync(body);
        var headers = ctx.Request.Headers.ToDictionary(h => h.Key, h => h.Value.ToString(), StringComparer.OrdinalIgnoreCase);
        var recorded = new RecordedRequest(ctx.Request.Method, ctx.Request.Path.Value ?? "", ctx.Request.QueryString.Value ?? "", headers, body.ToArray());
        _requests.Enqueue(recorded);
        await _handler(recorded, ctx);
    }

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync();
        await _app.DisposeAsync();
    }
}
