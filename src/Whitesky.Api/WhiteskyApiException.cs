using System.Net;

namespace Whitesky.Api;

/// <summary>
/// A whitesky API call failed: the platform answered with an error status, or no answer came (connection
/// failure, timeout). Carries the swagger operation, the HTTP status, the platform's message and its request
/// id. Never contains the JWT, an S3 secret or a PSK.
/// </summary>
public sealed class WhiteskyApiException : Exception
{
    /// <summary>Creates an exception with a generic message.</summary>
    public WhiteskyApiException()
        : this("A whitesky API call failed.")
    {
    }

    /// <summary>Creates an exception with a message.</summary>
    /// <param name="message">What failed.</param>
    public WhiteskyApiException(string message)
        : base(message)
    {
        OperationId = "unknown";
    }

    /// <summary>Creates an exception with a message and a cause.</summary>
    /// <param name="message">What failed.</param>
    /// <param name="innerException">The cause.</param>
    public WhiteskyApiException(string message, Exception? innerException)
        : base(message, innerException)
    {
        OperationId = "unknown";
    }

    /// <summary>Creates an exception for a failed operation.</summary>
    /// <param name="operationId">The swagger <c>operationId</c> of the call.</param>
    /// <param name="statusCode">The HTTP status, or null when no answer came.</param>
    /// <param name="platformMessage">The platform's error message (secrets removed), if any.</param>
    /// <param name="requestId">The platform's request id, if it sent one.</param>
    /// <param name="innerException">The cause, if any.</param>
    public WhiteskyApiException(string operationId, HttpStatusCode? statusCode, string? platformMessage, string? requestId, Exception? innerException = null)
        : base(Describe(operationId, statusCode, platformMessage, requestId, innerException), innerException)
    {
        OperationId = operationId;
        StatusCode = statusCode;
        PlatformMessage = platformMessage;
        RequestId = requestId;
    }

    /// <summary>The swagger <c>operationId</c> of the failed call (for example <c>createDisk</c>).</summary>
    public string OperationId { get; }

    /// <summary>The HTTP status the platform answered, or null when no answer came.</summary>
    public HttpStatusCode? StatusCode { get; }

    /// <summary>The platform's error message with secrets removed, if it sent one.</summary>
    public string? PlatformMessage { get; }

    /// <summary>The platform's request id (from a request-id response header), if it sent one.</summary>
    public string? RequestId { get; }

    private static string Describe(string operationId, HttpStatusCode? statusCode, string? platformMessage, string? requestId, Exception? innerException)
    {
        var what = statusCode is { } status
            ? $"HTTP {(int)status} {status}"
            : $"no answer ({innerException?.GetType().Name ?? "no response"}: {SecretScrubber.Scrub(innerException?.Message) ?? "unknown"})";
        var message = $"whitesky operation '{operationId}' failed: {what}";
        if (!string.IsNullOrEmpty(platformMessage))
        {
            message += $": {platformMessage}";
        }

        if (!string.IsNullOrEmpty(requestId))
        {
            message += $" (request id {requestId})";
        }

        return message + ".";
    }
}
