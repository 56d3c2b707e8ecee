using System.Globalization;

namespace Whitesky.Nbd;

/// <summary>Where an NBD server listens: a TCP host and port, or a Unix domain socket.</summary>
public abstract record NbdEndpoint
{
    private protected NbdEndpoint() { }

    /// <summary>A TCP endpoint; <paramref name="port"/> defaults to the IANA NBD port 10809.</summary>
    public static NbdTcpEndpoint Tcp(string host, int port = 10809) => new(host, port);

    /// <summary>A Unix domain socket endpoint.</summary>
    public static NbdUnixEndpoint Unix(string path) => new(path);
}

/// <summary>An NBD server reached over TCP.</summary>
public sealed record NbdTcpEndpoint : NbdEndpoint
{
    /// <summary>Creates a TCP endpoint.</summary>
    /// <param name="host">Host name or IP address literal (IPv6 without brackets).</param>
    /// <param name="port">TCP port, 1 to 65535; 0 only for a server to listen on (a free port is picked).</param>
    public NbdTcpEndpoint(string host, int port)
    {
        ArgumentException.ThrowIfNullOrEmpty(host);
        ArgumentOutOfRangeException.ThrowIfLessThan(port, 0);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(port, 65535);
        Host = host;
        Port = port;
    }

    /// <summary>Host name or IP address.</summary>
    public string Host { get; }

    /// <summary>TCP port.</summary>
    public int Port { get; }

    /// <inheritdoc />
    public override string ToString() => Host.Contains(':', StringComparison.Ordinal)
        ? string.Create(CultureInfo.InvariantCulture, $"[{Host}]:{Port}")
        : string.Create(CultureInfo.InvariantCulture, $"{Host}:{Port}");
}

/// <summary>An NBD server reached over a Unix domain socket.</summary>
public sealed record NbdUnixEndpoint : NbdEndpoint
{
    /// <summary>Creates a Unix socket endpoint.</summary>
    public NbdUnixEndpoint(string path)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        Path = path;
    }

    /// <summary>Path of the socket.</summary>
    public string Path { get; }

    /// <inheritdoc />
    public override string ToString() => "unix:" + Path;
}
