using System.Globalization;

namespace Whitesky.Emulator.Http;

/// <summary>A failure a handler answers with: an HTTP status and the platform's message (never a secret).</summary>
internal sealed class ApiError : Exception
{
    public ApiError(int status, string message, IReadOnlyDictionary<string, string>? errors = null)
        : base(message)
    {
        Status = status;
        Errors = errors;
    }

    public ApiError()
        : this(500, "Internal error")
    {
    }

    public ApiError(string message)
        : this(500, message)
    {
    }

    public ApiError(string message, Exception innerException)
        : base(message, innerException)
    {
        Status = 500;
    }

    public int Status { get; }

    public IReadOnlyDictionary<string, string>? Errors { get; }

    public static ApiError NotFound(string what, object id) =>
        new(404, string.Create(CultureInfo.InvariantCulture, $"{what} with id {id} does not exist"));

    public static ApiError Conflict(string message) => new(409, message);

    public static ApiError BadRequest(string message) => new(400, message);

    /// <summary>flask-restx's answer to an argument that fails its parser.</summary>
    public static ApiError Argument(string name, string problem) =>
        new(400, "Input payload validation failed", new Dictionary<string, string> { [name] = problem });
}
