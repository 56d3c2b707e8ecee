using System.Net;
using System.Text.Json;
using Microsoft.Extensions.Logging;
using Polly.Timeout;
using Whitesky.Api.Apis;

namespace Whitesky.Api;

/// <summary>
/// The outermost handler of every client: turns an error status (after retries) or a lost/timed-out call into
/// <see cref="WhiteskyApiException"/> naming the swagger operation.
/// </summary>
internal sealed partial class WhiteskyErrorHandler(ILogger<WhiteskyErrorHandler> logger) : DelegatingHandler
{
    private static readonly string[] RequestIdHeaders = ["X-Request-ID", "Request-Id", "X-Correlation-ID", "X-Amzn-RequestId", "X-Amz-Request-Id"];
    private static readonly string[] MessageFields = ["message", "error", "detail", "msg", "error_message", "description"];

    // Error bodies are read up to this size; the rest is ignored.
    private const int MaxErrorBodyBytes = 64 * 1024;

    protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
    {
        var operationId = WhiteskyOperations.Identify(request);
        HttpResponseMessage response;
        try
        {
            response = await base.SendAsync(request, cancellationToken).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            throw;
        }
        catch (Exception e) when (e is HttpRequestException or TimeoutRejectedException or OperationCanceledException or IOException)
        {
            LogNoAnswer(logger, operationId, e.GetType().Name);
            throw new WhiteskyApiException(operationId, null, null, null, e);
        }

        if (response.IsSuccessStatusCode)
        {
            return response;
        }

        using (response)
        {
            var exception = await CreateAsync(operationId, response, cancellationToken).ConfigureAwait(false);
            LogFailed(logger, operationId, (int)response.StatusCode, exception.RequestId);
            throw exception;
        }
    }

    /// <summary>Builds the exception for an error response (the response is not disposed).</summary>
    public static async Task<WhiteskyApiException> CreateAsync(string operationId, HttpResponseMessage response, CancellationToken cancellationToken)
    {
        var requestId = RequestIdHeaders
            .Select(h => response.Headers.TryGetValues(h, out var v) ? v.FirstOrDefault() : null)
            .FirstOrDefault(v => !string.IsNullOrWhiteSpace(v));
        string? body = null;
        try
        {
            body = await ReadCappedAsync(response.Content, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception e) when (e is HttpRequestException or IOException)
        {
            // The status is what matters; a body that cannot be read adds nothing.
        }

        return new WhiteskyApiException(operationId, response.StatusCode, ExtractMessage(body, response.ReasonPhrase), SecretScrubber.Scrub(requestId));
    }

    private static async Task<string?> ReadCappedAsync(HttpContent? content, CancellationToken cancellationToken)
    {
        if (content is null)
        {
            return null;
        }

        var stream = await content.ReadAsStreamAsync(cancellationToken).ConfigureAwait(false);
        await using (stream.ConfigureAwait(false))
        {
            var buffer = new byte[MaxErrorBodyBytes];
            var total = 0;
            int read;
            while (total < buffer.Length && (read = await stream.ReadAsync(buffer.AsMemory(total), cancellationToken).ConfigureAwait(false)) > 0)
            {
                total += read;
            }

            return System.Text.Encoding.UTF8.GetString(buffer, 0, total);
        }
    }

    internal static string? ExtractMessage(string? body, string? reasonPhrase)
    {
        if (string.IsNullOrWhiteSpace(body))
        {
            return reasonPhrase;
        }

        var trimmed = body.TrimStart();
        if (trimmed.StartsWith('{') || trimmed.StartsWith('"'))
        {
            try
            {
                using var doc = JsonDocument.Parse(body);
                if (doc.RootElement.ValueKind == JsonValueKind.String)
                {
                    return SecretScrubber.Scrub(doc.RootElement.GetString());
                }

                if (doc.RootElement.ValueKind == JsonValueKind.Object)
                {
                    foreach (var field in MessageFields)
                    {
                        if (doc.RootElement.TryGetProperty(field, out var value))
                        {
                            return SecretScrubber.Scrub(value.ValueKind == JsonValueKind.String ? value.GetString() : value.GetRawText());
                        }
                    }
                }
            }
            catch (JsonException)
            {
                // Not JSON after all: fall through to the raw text.
            }
        }

        return SecretScrubber.Scrub(body.Trim());
    }

    [LoggerMessage(EventId = 1, Level = LogLevel.Warning, Message = "whitesky operation {OperationId} failed with HTTP {StatusCode} (request id {RequestId})")]
    private static partial void LogFailed(ILogger logger, string operationId, int statusCode, string? requestId);

    [LoggerMessage(EventId = 2, Level = LogLevel.Warning, Message = "whitesky operation {OperationId} got no answer ({ExceptionType})")]
    private static partial void LogNoAnswer(ILogger logger, string operationId, string exceptionType);
}
