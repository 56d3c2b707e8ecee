using System.Globalization;
using System.Text.Json;
using System.Text.Json.Serialization.Metadata;
using Microsoft.AspNetCore.Http;
using Whitesky.Emulator.Http;

namespace Whitesky.Emulator.Routes;

/// <summary>One call of an operation: its route values, query arguments and body.</summary>
internal sealed class ApiCall
{
    private const int MaxJsonBody = 1024 * 1024;

    public ApiCall(HttpContext http, string operationId)
    {
        Http = http;
        OperationId = operationId;
        Query = new QueryArguments(http.Request.Query);
    }

    public HttpContext Http { get; }

    public string OperationId { get; }

    public QueryArguments Query { get; }

    public CancellationToken Aborted => Http.RequestAborted;

    public string Route(string name) => Http.Request.RouteValues[name] as string ?? throw new ApiError(404, "Not Found");

    public int RouteInt(string name) =>
        int.TryParse(Route(name), NumberStyles.None, CultureInfo.InvariantCulture, out var value) ? value : throw new ApiError(404, "Not Found");

    /// <summary>Reads a JSON body; an empty one is null unless <paramref name="required"/>.</summary>
    public async Task<T?> BodyAsync<T>(JsonTypeInfo<T> typeInfo, bool required)
        where T : class
    {
        var request = Http.Request;
        if (request.ContentLength is > MaxJsonBody)
        {
            throw new ApiError(413, "The request body is too large");
        }

        using var buffer = new MemoryStream();
        var chunk = new byte[16 * 1024];
        int read;
        while ((read = await request.Body.ReadAsync(chunk, Aborted).ConfigureAwait(false)) > 0)
        {
            if (buffer.Length + read > MaxJsonBody)
            {
                throw new ApiError(413, "The request body is too large");
            }

            buffer.Write(chunk, 0, read);
        }

        if (buffer.Length == 0)
        {
            return required ? throw ApiError.BadRequest("Input payload validation failed: a JSON body is required") : null;
        }

        try
        {
            return JsonSerializer.Deserialize(buffer.GetBuffer().AsSpan(0, (int)buffer.Length), typeInfo)
                ?? (required ? throw ApiError.BadRequest("Input payload validation failed: a JSON body is required") : null);
        }
        catch (JsonException ex)
        {
            throw ApiError.BadRequest("Failed to decode JSON object: " + ex.Message);
        }
    }
}
