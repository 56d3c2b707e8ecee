using System.Net;
using System.Net.Sockets;

namespace Whitesky.Nbd.Tests.Faults;

/// <summary>
/// A loopback TCP proxy for one client connection that forwards to a real server and records every
/// byte the client sent, so a test can prove what went over the wire in plaintext.
/// </summary>
public sealed class RecordingTcpProxy : IAsyncDisposable
{
    private readonly TcpListener _listener;
    private readonly NbdEndpoint _upstream;
    private readonly MemoryStream _fromClient = new();
    private readonly TaskCompletionSource<byte[]> _clientDone = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly CancellationTokenSource _stop = new();
    private readonly Task _run;
    private Socket? _client;
    private Socket? _server;

    private RecordingTcpProxy(NbdEndpoint upstream)
    {
        _upstream = upstream;
        _listener = new TcpListener(IPAddress.Loopback, 0);
        _listener.Start();
        Endpoint = NbdEndpoint.Tcp("127.0.0.1", ((IPEndPoint)_listener.LocalEndpoint).Port);
        _run = Task.Run(RunAsync);
    }

    public NbdTcpEndpoint Endpoint { get; }

    /// <summary>Everything the client sent, complete once the client closed (or reset) its side.</summary>
    public Task<byte[]> ClientBytes => _clientDone.Task;

    public static RecordingTcpProxy Start(NbdEndpoint upstream) => new(upstream);

    private async Task RunAsync()
    {
        try
        {
            _client = await _listener.AcceptSocketAsync(_stop.Token);
            _listener.Stop();
            _server = _upstream switch
            {
                NbdUnixEndpoint unix => new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified),
                _ => new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp),
            };
            EndPoint target = _upstream switch
            {
                NbdUnixEndpoint unix => new UnixDomainSocketEndPoint(unix.Path),
                NbdTcpEndpoint tcp => new IPEndPoint(IPAddress.Parse(tcp.Host), tcp.Port),
                _ => throw new ArgumentOutOfRangeException(nameof(_upstream)),
            };
            await _server.ConnectAsync(target, _stop.Token);
            await Task.WhenAll(PumpAsync(_client, _server, _fromClient, _clientDone), PumpAsync(_server, _client, null, null));
        }
        catch (Exception ex) when (ex is OperationCanceledException or SocketException or ObjectDisposedException)
        {
            // Hang up on the client too, so a dead upstream fails the test at once instead of by a timeout.
            _client?.Dispose();
            _clientDone.TrySetException(new InvalidOperationException($"The proxy could not reach {_upstream} or was stopped.", ex));
        }
    }

    private async Task PumpAsync(Socket from, Socket to, MemoryStream? record, TaskCompletionSource<byte[]>? done)
    {
        var buffer = new byte[64 * 1024];
        try
        {
            while (true)
            {
                var read = await from.ReceiveAsync(buffer, SocketFlags.None, _stop.Token);
                if (read == 0)
                {
                    break;
                }

                lock (_fromClient)
                {
                    record?.Write(buffer, 0, read);
                }

                await to.SendAsync(buffer.AsMemory(0, read), SocketFlags.None, _stop.Token);
            }
        }
        catch (Exception ex) when (ex is SocketException or ObjectDisposedException or OperationCanceledException)
        {
            // A reset or our own shutdown ends the direction like a close does.
        }
        finally
        {
            if (done is not null)
            {
                lock (_fromClient)
                {
                    done.TrySetResult(_fromClient.ToArray());
                }
            }

            try
            {
                to.Shutdown(SocketShutdown.Send);
            }
            catch (Exception ex) when (ex is SocketException or ObjectDisposedException)
            {
            }
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        _listener.Stop();
        _client?.Dispose();
        _server?.Dispose();
        try
        {
            await _run.WaitAsync(TimeSpan.FromSeconds(10));
        }
        catch (Exception ex) when (ex is not TimeoutException)
        {
        }

        _stop.Dispose();
        _fromClient.Dispose();
    }
}
