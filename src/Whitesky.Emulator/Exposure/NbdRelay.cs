using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;
using System.Runtime.CompilerServices;
using Whitesky.Emulator.Faults;

namespace Whitesky.Emulator.Exposure;

/// <summary>
/// The public side of an exposure: a TCP relay on loopback in front of the NBD server (which stands for the
/// cloudspace-private endpoint). It passes bytes through untouched — TLS is end to end — and is where the NBD
/// faults are applied: refusing every client, cutting connections now, or after a number of bytes.
/// </summary>
internal sealed class NbdRelay : IAsyncDisposable
{
    private const int BufferSize = 256 * 1024;
    private readonly Socket _listener;
    private readonly IPEndPoint _upstream;
    private readonly EmulatorFaults _faults;
    private readonly bool _refuseAll;
    private readonly CancellationTokenSource _stopping = new();
    private readonly ConcurrentDictionary<long, (Socket Client, Socket Server)> _pairs = new();
    private readonly Task _acceptLoop;
    private long _nextId;

    public NbdRelay(IPEndPoint upstream, EmulatorFaults faults, bool refuseAll)
    {
        _upstream = upstream;
        _faults = faults;
        _refuseAll = refuseAll;
        _listener = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        _listener.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        _listener.Listen(64);
        Port = ((IPEndPoint)_listener.LocalEndPoint!).Port;
        _faults.DropRequested += OnDropRequested;
        _acceptLoop = AcceptLoopAsync();
    }

    public int Port { get; }

    private void OnDropRequested(object? sender, EventArgs e) => DropAll();

    public void DropAll()
    {
        foreach (var id in _pairs.Keys)
        {
            if (_pairs.TryRemove(id, out var pair))
            {
                Close(pair.Client, pair.Server);
            }
        }
    }

    private static void Close(Socket client, Socket server)
    {
        client.Dispose();
        server.Dispose();
    }

    private async Task AcceptLoopAsync()
    {
        while (!_stopping.IsCancellationRequested)
        {
            Socket client;
            try
            {
                client = await _listener.AcceptAsync(_stopping.Token).ConfigureAwait(false);
            }
            catch (Exception ex) when (ex is OperationCanceledException or ObjectDisposedException or SocketException)
            {
                if (_stopping.IsCancellationRequested)
                {
                    return;
                }

                continue;
            }

            if (_refuseAll)
            {
                client.Dispose();
                continue;
            }

            _ = RelayAsync(client);
        }
    }

    private async Task RelayAsync(Socket client)
    {
        var server = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        var id = Interlocked.Increment(ref _nextId);
        try
        {
            client.NoDelay = true;
            server.NoDelay = true;
            await server.ConnectAsync(_upstream, _stopping.Token).ConfigureAwait(false);
            _pairs[id] = (client, server);
            var carried = new StrongBox<long>();
            var up = PumpAsync(client, server, carried);
            var down = PumpAsync(server, client, carried);
            await Task.WhenAny(up, down).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is SocketException or OperationCanceledException or ObjectDisposedException)
        {
            // The client or the server went away, or the relay stops: either way the pair is closed below.
        }
        finally
        {
            _pairs.TryRemove(id, out _);
            Close(client, server);
        }
    }

    private async Task PumpAsync(Socket from, Socket to, StrongBox<long> carried)
    {
        var buffer = new byte[BufferSize];
        try
        {
            while (true)
            {
                var read = await from.ReceiveAsync(buffer, SocketFlags.None, _stopping.Token).ConfigureAwait(false);
                if (read == 0)
                {
                    return;
                }

                var limit = _faults.DropNbdConnectionsAfterBytes;
                var total = Interlocked.Add(ref carried.Value, read);
                if (limit is { } cut && total > cut)
                {
                    var allowed = read - (int)Math.Min(read, total - cut);
                    if (allowed > 0)
                    {
                        await to.SendAsync(buffer.AsMemory(0, allowed), SocketFlags.None, _stopping.Token).ConfigureAwait(false);
                    }

                    return;
                }

                await to.SendAsync(buffer.AsMemory(0, read), SocketFlags.None, _stopping.Token).ConfigureAwait(false);
            }
        }
        catch (Exception ex) when (ex is SocketException or OperationCanceledException or ObjectDisposedException)
        {
        }
    }

    public async ValueTask DisposeAsync()
    {
        _faults.DropRequested -= OnDropRequested;
        await _stopping.CancelAsync().ConfigureAwait(false);
        _listener.Dispose();
        DropAll();
        await _acceptLoop.ConfigureAwait(false);
        _stopping.Dispose();
    }
}
