using System.Net;
using System.Net.Sockets;

namespace Whitesky.Migration.Cutover;

/// <summary>A check that a migrated application answers; it throws when it does not (yet).</summary>
public interface IHealthProbe
{
    /// <summary>What is probed, for the report.</summary>
    string Name { get; }

    /// <summary>Probes once.</summary>
    /// <exception cref="HealthProbeException">The application did not answer as expected.</exception>
    Task CheckAsync(CancellationToken cancellationToken);
}

/// <summary>A probe failed.</summary>
public sealed class HealthProbeException : Exception
{
    /// <summary>Creates the exception.</summary>
    public HealthProbeException(string message) : base(message) { }

    /// <summary>Creates the exception with its cause.</summary>
    public HealthProbeException(string message, Exception? innerException) : base(message, innerException) { }

    /// <summary>Creates the exception.</summary>
    public HealthProbeException() : base("The health probe failed.") { }
}

/// <summary>Passes when a TCP connection to <c>host:port</c> is accepted.</summary>
public sealed class TcpProbe(string host, int port, TimeSpan? connectTimeout = null) : IHealthProbe
{
    /// <inheritdoc/>
    public string Name => $"tcp://{host}:{port}";

    /// <inheritdoc/>
    public async Task CheckAsync(CancellationToken cancellationToken)
    {
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(connectTimeout ?? TimeSpan.FromSeconds(5));
        using var socket = new Socket(SocketType.Stream, ProtocolType.Tcp);
        try
        {
            await socket.ConnectAsync(host, port, timeout.Token).ConfigureAwait(false);
        }
        catch (Exception e) when (e is SocketException || (e is OperationCanceledException && !cancellationToken.IsCancellationRequested))
        {
            throw new HealthProbeException($"{Name}: no connection ({e.Message}).", e);
        }
    }
}

/// <summary>Passes when a GET answers the expected status (2xx by default) and, if given, a body containing a text.</summary>
public sealed class HttpProbe : IHealthProbe
{
    private readonly Uri _url;
    private readonly HttpStatusCode? _status;
    private readonly string? _bodyContains;
    private readonly HttpClient _http;

    /// <summary>Probes <paramref name="url"/>.</summary>
    public HttpProbe(Uri url, HttpStatusCode? expectedStatus = null, string? bodyContains = null, HttpClient? httpClient = null)
    {
        ArgumentNullException.ThrowIfNull(url);
        _url = url;
        _status = expectedStatus;
        _bodyContains = bodyContains;
        _http = httpClient ?? SharedClient;
    }

    private static HttpClient SharedClient { get; } = new() { Timeout = TimeSpan.FromSeconds(10) };

    /// <inheritdoc/>
    public string Name => _url.GetLeftPart(UriPartial.Path);

    /// <inheritdoc/>
    public async Task CheckAsync(CancellationToken cancellationToken)
    {
        HttpResponseMessage response;
        try
        {
            response = await _http.GetAsync(_url, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception e) when (e is HttpRequestException || (e is TaskCanceledException && !cancellationToken.IsCancellationRequested))
        {
            throw new HealthProbeException($"{Name}: no answer ({e.Message}).", e);
        }

        using (response)
        {
            var ok = _status is { } expected ? response.StatusCode == expected : response.IsSuccessStatusCode;
            if (!ok)
            {
                throw new HealthProbeException($"{Name}: answered {(int)response.StatusCode} {response.ReasonPhrase}, expected {(_status is { } s ? ((int)s).ToString(System.Globalization.CultureInfo.InvariantCulture) : "2xx")}.");
            }

            if (_bodyContains is not null)
            {
                var body = await response.Content.ReadAsStringAsync(cancellationToken).ConfigureAwait(false);
                if (!body.Contains(_bodyContains, StringComparison.Ordinal))
                {
                    throw new HealthProbeException($"{Name}: the answer does not contain '{_bodyContains}'.");
                }
            }
        }
    }
}

/// <summary>A probe the integrator writes (a database query, a login).</summary>
public sealed class DelegateProbe(string name, Func<CancellationToken, Task> check) : IHealthProbe
{
    /// <inheritdoc/>
    public string Name => name;

    /// <inheritdoc/>
    public Task CheckAsync(CancellationToken cancellationToken) => check(cancellationToken);
}
