using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace Whitesky.Nbd.Server;

/// <summary>
/// An NBD server: named exports over TCP and Unix sockets, fixed-newstyle handshake, structured replies,
/// <c>base:allocation</c> block status, all transmission commands, concurrent requests per connection with
/// out-of-order replies, multi-conn, TLS (TLS-PSK and X.509) and limits against hostile clients.
/// </summary>
/// <example>
/// <code>
/// await using var server = await NbdServer.StartAsync(new NbdServerOptions
/// {
///     Listen = [NbdEndpoint.Tcp("127.0.0.1", 10809)],
///     Exports = [new NbdServerExport { Name = "disk", Backend = new MemoryBackend(1L &lt;&lt; 30) }],
/// });
/// </code>
/// </example>
public sealed partial class NbdServer : IAsyncDisposable
{
    private readonly NbdServerOptions _options;
    private readonly ILogger _logger;
    private readonly List<Socket> _listeners = [];
    private readonly List<NbdEndpoint> _endpoints = [];
    private readonly List<Task> _acceptLoops = [];
    private readonly ConcurrentDictionary<long, (NbdServerConnection Connection, Task Run)> _connections = new();
    private readonly ConcurrentDictionary<string, int> _exportConnections = new(StringComparer.Ordinal);
    private readonly CancellationTokenSource _stopping = new();
    private long _nextConnectionId;
    private int _stopped;

    private NbdServer(NbdServerOptions options)
    {
        _options = options;
        Buffers = new ByteBudget(options.MaxBufferedBytes);
        _logger = (ILogger?)options.LoggerFactory?.CreateLogger<NbdServer>() ?? NullLogger.Instance;
    }

    /// <summary>The endpoints the server listens on, with the ports it was given for port 0.</summary>
    public IReadOnlyList<NbdEndpoint> Endpoints => _endpoints;

    /// <summary>The server-wide budget of READ and WRITE buffers.</summary>
    internal ByteBudget Buffers { get; }

    /// <summary>Connections open now.</summary>
    public int ConnectionCount => _connections.Count;

    /// <summary>Raised when a client connects (before its handshake).</summary>
    public event EventHandler<NbdServerConnectionEventArgs>? ConnectionOpened;

    /// <summary>Raised when a connection ends; <see cref="NbdServerConnectionEventArgs.Error"/> says why if it ended badly.</summary>
    public event EventHandler<NbdServerConnectionEventArgs>? ConnectionClosed;

    /// <summary>Raised after every request is answered. Handlers run on the connection's path: keep them short.</summary>
    public event EventHandler<NbdServerCommandEventArgs>? CommandCompleted;

    /// <summary>Binds every endpoint and starts accepting clients.</summary>
    /// <exception cref="SocketException">A TCP endpoint cannot be bound (in use, no permission).</exception>
    /// <exception cref="IOException">A Unix socket path already exists.</exception>
    public static Task<NbdServer> StartAsync(NbdServerOptions options, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        cancellationToken.ThrowIfCancellationRequested();
        var server = new NbdServer(options);
        try
        {
            foreach (var endpoint in options.Listen)
            {
                server.Bind(endpoint);
            }
        }
        catch
        {
            server.CloseListeners();
            throw;
        }

        foreach (var listener in server._listeners)
        {
            server._acceptLoops.Add(server.AcceptLoopAsync(listener));
        }

        return Task.FromResult(server);
    }

    private void Bind(NbdEndpoint endpoint)
    {
        Socket socket;
        switch (endpoint)
        {
            case NbdUnixEndpoint unix:
                socket = BindUnix(unix.Path);
                _endpoints.Add(unix);
                break;
            case NbdTcpEndpoint tcp:
                var address = IPAddress.TryParse(tcp.Host, out var literal) ? literal : Dns.GetHostAddresses(tcp.Host)[0];
                socket = new Socket(address.AddressFamily, SocketType.Stream, ProtocolType.Tcp);
                socket.SetSocketOption(SocketOptionLevel.Socket, SocketOptionName.ReuseAddress, true);
                socket.Bind(new IPEndPoint(address, tcp.Port));
                _endpoints.Add(NbdEndpoint.Tcp(tcp.Host, ((IPEndPoint)socket.LocalEndPoint!).Port));
                break;
            default:
                throw new ArgumentException("Unknown endpoint type.", nameof(endpoint));
        }

        socket.Listen(128);
        _listeners.Add(socket);
    }

    /// <summary>Binds a Unix socket. An existing path is never removed: it may be a stale socket, or anybody's file.</summary>
    private static Socket BindUnix(string path)
    {
        var socket = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        try
        {
            socket.Bind(new UnixDomainSocketEndPoint(path));
            return socket;
        }
        catch (SocketException ex) when (ex.SocketErrorCode == SocketError.AddressAlreadyInUse)
        {
            socket.Dispose();
            throw new IOException($"Cannot listen on the Unix socket '{path}': the path exists (a socket left by a server that died, or another file). Remove it or choose another path.", ex);
        }
        catch
        {
            socket.Dispose();
            throw;
        }
    }

    private async Task AcceptLoopAsync(Socket listener)
    {
        while (!_stopping.IsCancellationRequested)
        {
            Socket client;
            try
            {
                client = await listener.AcceptAsync(_stopping.Token).ConfigureAwait(false);
            }
            catch (Exception ex) when (ex is OperationCanceledException or ObjectDisposedException)
            {
                return;
            }
            catch (SocketException ex)
            {
                LogAcceptFailed(_logger, ex.Message);
                continue;
            }

            if (client.AddressFamily != AddressFamily.Unix)
            {
                client.NoDelay = true;
            }

            client.SendBufferSize = Math.Max(client.SendBufferSize, 4 * 1024 * 1024);
            client.ReceiveBufferSize = Math.Max(client.ReceiveBufferSize, 4 * 1024 * 1024);
            var id = Interlocked.Increment(ref _nextConnectionId);
            var connection = new NbdServerConnection(this, id, client, _options, _logger);
            NbdMetrics.ServerConnections.Add(1);
            try
            {
                ConnectionOpened?.Invoke(this, new NbdServerConnectionEventArgs(id, connection.RemoteEndpoint, null));
            }
            catch (Exception ex)
            {
                LogHandlerFailed(_logger, nameof(ConnectionOpened), ex.Message);
            }

            // Registered before it runs, so that a connection that ends at once is removed, not leaked.
            var start = new Task<Task>(() => connection.RunAsync(_stopping.Token));
            _connections[id] = (connection, start.Unwrap());
            start.Start(TaskScheduler.Default);
        }
    }

    internal bool TryTakeExportSlot(NbdServerExport export)
    {
        while (true)
        {
            var current = _exportConnections.GetOrAdd(export.Name, 0);
            if (current >= export.MaxConnections)
            {
                return false;
            }

            if (_exportConnections.TryUpdate(export.Name, current + 1, current))
            {
                return true;
            }
        }
    }

    internal void ReleaseExportSlot(string export) => _exportConnections.AddOrUpdate(export, 0, static (_, n) => Math.Max(0, n - 1));

    /// <summary>Whether anyone listens to <see cref="CommandCompleted"/> (no event data is made otherwise).</summary>
    internal bool ObservesCommands => CommandCompleted is not null;

    internal void OnCommandCompleted(NbdServerCommandEventArgs args)
    {
        try
        {
            CommandCompleted?.Invoke(this, args);
        }
        catch (Exception ex)
        {
            // A subscriber's bug must not break the connection it observes.
            LogHandlerFailed(_logger, nameof(CommandCompleted), ex.Message);
        }
    }

    internal void OnConnectionClosed(NbdServerConnection connection, Exception? error)
    {
        _connections.TryRemove(connection.Id, out _);
        try
        {
            ConnectionClosed?.Invoke(this, new NbdServerConnectionEventArgs(connection.Id, connection.RemoteEndpoint, connection.ExportName, error));
        }
        catch (Exception ex)
        {
            LogHandlerFailed(_logger, nameof(ConnectionClosed), ex.Message);
        }
    }

    /// <summary>
    /// Stops accepting clients, lets every connection finish the requests it has read (no new ones are
    /// read), then closes them. Cancelling <paramref name="cancellationToken"/> stops waiting and closes the
    /// connections still draining.
    /// </summary>
    public async Task StopAsync(CancellationToken cancellationToken = default)
    {
        if (Interlocked.Exchange(ref _stopped, 1) != 0)
        {
            return;
        }

        await _stopping.CancelAsync().ConfigureAwait(false);
        CloseListeners();
        try
        {
            await Task.WhenAll(_acceptLoops).WaitAsync(cancellationToken).ConfigureAwait(false);
            await Task.WhenAll(_connections.Values.Select(c => c.Run)).WaitAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            // The caller gave up on the drain: cut what is left, or a client that never reads its replies would
            // keep its connection, and the buffers of its requests, after the server is gone.
            foreach (var (connection, _) in _connections.Values)
            {
                connection.Abort();
            }

            throw;
        }
        finally
        {
            foreach (var endpoint in _endpoints.OfType<NbdUnixEndpoint>())
            {
                try
                {
                    File.Delete(endpoint.Path);
                }
                catch (IOException)
                {
                }
            }
        }
    }

    private void CloseListeners()
    {
        foreach (var listener in _listeners)
        {
            listener.Dispose();
        }
    }

    /// <summary>Stops the server (see <see cref="StopAsync"/>).</summary>
    public async ValueTask DisposeAsync()
    {
        await StopAsync().ConfigureAwait(false);
        _stopping.Dispose();
    }

    [LoggerMessage(EventId = 103, Level = LogLevel.Warning, Message = "An NBD server {Event} handler failed: {Reason}")]
    private static partial void LogHandlerFailed(ILogger logger, string @event, string reason);

    [LoggerMessage(EventId = 100, Level = LogLevel.Warning, Message = "Accepting an NBD client failed: {Reason}")]
    private static partial void LogAcceptFailed(ILogger logger, string reason);
}
