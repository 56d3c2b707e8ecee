using System.Net.Sockets;
using Whitesky.Nbd.Tests.Peers;

namespace Whitesky.Nbd.Tests.Tls;

/// <summary>
/// <c>nbdkit memory SIZE --tls=require --tls-psk=FILE</c> on a Unix socket, for tests that drive the TLS
/// layer below the NBD client: they open raw connections and do the NBD handshake themselves.
/// </summary>
internal sealed class NbdkitPskServer : IAsyncDisposable
{
    private readonly ServerProcess _server;
    private readonly TempDirectory _directory;

    private NbdkitPskServer(ServerProcess server, TempDirectory directory)
    {
        _server = server;
        _directory = directory;
    }

    /// <summary>Path of the Unix socket nbdkit listens on.</summary>
    public string SocketPath => ((NbdUnixEndpoint)_server.Endpoint).Path;

    /// <summary>Whether nbdkit is still running.</summary>
    public bool IsRunning => !_server.HasExited;

    /// <summary>What nbdkit wrote to standard error so far.</summary>
    public string StandardError => _server.StdErr;

    /// <summary>
    /// Starts nbdkit with the given <c>identity:hexkey</c> users; <paramref name="gnutlsPriorityOverrides"/>,
    /// when given, becomes GnuTLS's system priority file (to restrict the versions nbdkit speaks).
    /// </summary>
    public static async Task<NbdkitPskServer> StartAsync(IEnumerable<(string Identity, string HexKey)> users,
        string size = "1M", string? gnutlsPriorityOverrides = null)
    {
        var directory = new TempDirectory();
        try
        {
            var pskFile = directory.File("keys.psk");
            await File.WriteAllLinesAsync(pskFile, users.Select(u => $"{u.Identity}:{u.HexKey}"));
            Dictionary<string, string>? environment = null;
            if (gnutlsPriorityOverrides is not null)
            {
                var configFile = directory.File("gnutls.config");
                await File.WriteAllTextAsync(configFile, gnutlsPriorityOverrides);
                environment = new Dictionary<string, string> { ["GNUTLS_SYSTEM_PRIORITY_FILE"] = configFile };
            }

            var server = await ServerProcess.StartNbdkitAsync(true, ["--tls=require", "--tls-psk=" + pskFile, "memory", size], environment);
            return new NbdkitPskServer(server, directory);
        }
        catch
        {
            directory.Dispose();
            throw;
        }
    }

    /// <summary>Opens a new raw connection to the server.</summary>
    public async Task<NetworkStream> ConnectAsync(CancellationToken cancellationToken = default)
    {
        var socket = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        try
        {
            await socket.ConnectAsync(new UnixDomainSocketEndPoint(SocketPath), cancellationToken);
            return new NetworkStream(socket, ownsSocket: true);
        }
        catch
        {
            socket.Dispose();
            throw;
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _server.DisposeAsync();
        _directory.Dispose();
    }
}
