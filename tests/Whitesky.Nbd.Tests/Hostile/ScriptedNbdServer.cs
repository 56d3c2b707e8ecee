using System.Net;
using System.Net.Sockets;

namespace Whitesky.Nbd.Tests.Hostile;

/// <summary>
/// A fake NBD server on a loopback TCP port that runs a test's script against every connection: either
/// the whole conversation (<see cref="Start"/>) or only the transmission phase after a valid handshake
/// (<see cref="StartAfterHandshake"/>). Whatever goes wrong inside the first script surfaces through
/// <see cref="FirstSession"/>, so a test can tell a client bug from a broken fake.
/// </summary>
public sealed class ScriptedNbdServer : IAsyncDisposable
{
    private readonly TcpListener _listener;
    private readonly Func<FakeNbdPeer, Task> _script;
    private readonly CancellationTokenSource _stop = new();
    private readonly List<FakeNbdPeer> _peers = [];
    private readonly List<Task> _sessions = [];
    private readonly TaskCompletionSource<Task> _firstSession = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly Task _acceptLoop;

    private ScriptedNbdServer(Func<FakeNbdPeer, Task> script)
    {
        _script = script;
        _listener = new TcpListener(IPAddress.Loopback, 0);
        _listener.Start();
        Endpoint = NbdEndpoint.Tcp("127.0.0.1", ((IPEndPoint)_listener.LocalEndpoint).Port);
        _acceptLoop = Task.Run(AcceptLoopAsync);
    }

    public NbdTcpEndpoint Endpoint { get; }

    /// <summary>The first connection's script: completes when it has run to its end, faults with what broke it.</summary>
    public Task FirstSession => _firstSession.Task.Unwrap();

    /// <summary>A server whose script does the whole conversation, greeting included.</summary>
    public static ScriptedNbdServer Start(Func<FakeNbdPeer, Task> script) => new(script);

    /// <summary>A server that negotiates validly (see <see cref="FakeNbdPeer.HandshakeAsync"/>) and then runs <paramref name="transmission"/>.</summary>
    public static ScriptedNbdServer StartAfterHandshake(Func<FakeNbdPeer, Task> transmission, FakeExport? export = null) =>
        new(async peer =>
        {
            await peer.HandshakeAsync(export ?? new FakeExport());
            await transmission(peer);
        });

    /// <summary>Client options for this server; timeouts generous enough for a loaded machine, finite so nothing hangs.</summary>
    public NbdClientOptions ClientOptions() => new()
    {
        Endpoint = Endpoint,
        HandshakeTimeout = TimeSpan.FromSeconds(15),
        RequestTimeout = TimeSpan.FromSeconds(30),
    };

    private async Task AcceptLoopAsync()
    {
        while (!_stop.IsCancellationRequested)
        {
            Socket socket;
            try
            {
                socket = await _listener.AcceptSocketAsync(_stop.Token);
            }
            catch (Exception ex) when (ex is OperationCanceledException or SocketException or ObjectDisposedException)
            {
                return;
            }

            socket.NoDelay = true;
            var peer = new FakeNbdPeer(socket, _stop.Token);
            var session = Task.Run(async () =>
            {
                using (peer)
                {
                    await _script(peer);
                }
            });
            lock (_peers)
            {
                _peers.Add(peer);
                _sessions.Add(session);
            }

            _firstSession.TrySetResult(session);
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        _listener.Stop();
        Task[] sessions;
        lock (_peers)
        {
            foreach (var peer in _peers)
            {
                peer.Dispose();
            }

            sessions = [.. _sessions, _acceptLoop];
        }

        try
        {
            await Task.WhenAll(sessions).WaitAsync(TimeSpan.FromSeconds(10));
        }
        catch (Exception ex) when (ex is not TimeoutException)
        {
            // Scripts cut short by the shutdown; a test that cares awaited FirstSession itself.
        }

        _firstSession.TrySetCanceled();
        _stop.Dispose();
    }
}
