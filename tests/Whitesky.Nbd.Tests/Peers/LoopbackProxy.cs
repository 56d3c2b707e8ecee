using System.Net;
using System.Net.Sockets;

namespace Whitesky.Nbd.Tests.Peers;

/// <summary>
/// A one-connection TCP proxy on loopback between a client and a server: it records every byte the
/// client sends and can stop reading from the client on demand (a server that stops reading).
/// </summary>
public sealed class LoopbackProxy : IAsyncDisposable
{
    private readonly TcpListener _listener = new(IPAddress.Loopback, 0);
    private readonly MemoryStream _upstream = new();
    private readonly CancellationTokenSource _stop = new();
    private readonly TaskCompletionSource _stopReading = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly Task _run;

    public LoopbackProxy(int serverPort)
    {
        _listener.Start();
        Endpoint = NbdEndpoint.Tcp("127.0.0.1", ((IPEndPoint)_listener.LocalEndpoint).Port);
        _run = RunAsync(serverPort);
    }

    public NbdTcpEndpoint Endpoint { get; }

    /// <summary>Everything the client sent so far.</summary>
    public byte[] ClientBytes
    {
        get
        {
            lock (_upstream)
            {
                return _upstream.ToArray();
            }
        }
    }

    /// <summary>From now on the proxy reads nothing more from the client.</summary>
    public void StopReadingFromClient() => _stopReading.TrySetResult();

    /// <summary>Completes when both directions have ended.</summary>
    public Task Completion => _run;

    private async Task RunAsync(int serverPort)
    {
        using var inbound = await _listener.AcceptTcpClientAsync(_stop.Token);
        using var outbound = new TcpClient();
        await outbound.ConnectAsync(IPAddress.Loopback, serverPort, _stop.Token);
        var up = Task.Run(async () =>
        {
            var buffer = new byte[64 * 1024];
            while (true)
            {
                var read = inbound.GetStream().ReadAsync(buffer, _stop.Token).AsTask();
                await Task.WhenAny(read, _stopReading.Task);
                if (_stopReading.Task.IsCompleted)
                {
                    // Whatever that read returns is dropped: the server never sees it.
                    await Task.Delay(Timeout.Infinite, _stop.Token).ContinueWith(_ => { }, TaskScheduler.Default);
                    return;
                }

                var n = await read;
                if (n == 0)
                {
                    outbound.Client.Shutdown(SocketShutdown.Send);
                    return;
                }

                lock (_upstream)
                {
                    _upstream.Write(buffer, 0, n);
                }

                await outbound.GetStream().WriteAsync(buffer.AsMemory(0, n), _stop.Token);
            }
        });
        var down = outbound.GetStream().CopyToAsync(inbound.GetStream(), _stop.Token);
        try
        {
            await Task.WhenAll(up, down);
        }
        catch (Exception ex) when (ex is IOException or OperationCanceledException or SocketException)
        {
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        _listener.Stop();
        try
        {
            await _run.WaitAsync(TimeSpan.FromSeconds(5));
        }
        catch (Exception ex) when (ex is IOException or OperationCanceledException or SocketException or TimeoutException)
        {
        }

        _stop.Dispose();
    }
}
