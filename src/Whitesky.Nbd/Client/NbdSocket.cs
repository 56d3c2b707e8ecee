using System.Net;
using System.Net.Sockets;

namespace Whitesky.Nbd.Client;

/// <summary>Opens the transport socket for an endpoint.</summary>
internal static class NbdSocket
{
    public static async Task<Socket> ConnectAsync(NbdEndpoint endpoint, TimeSpan timeout, CancellationToken cancellationToken)
    {
        using var cts = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        if (timeout != Timeout.InfiniteTimeSpan)
        {
            cts.CancelAfter(timeout);
        }

        Socket? socket = null;
        try
        {
            switch (endpoint)
            {
                case NbdUnixEndpoint unix:
                    socket = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
                    await socket.ConnectAsync(new UnixDomainSocketEndPoint(unix.Path), cts.Token).ConfigureAwait(false);
                    break;
                case NbdTcpEndpoint tcp:
                    var addresses = IPAddress.TryParse(tcp.Host, out var literal)
                        ? [literal]
                        : await Dns.GetHostAddressesAsync(tcp.Host, cts.Token).ConfigureAwait(false);
                    SocketException? last = null;
                    foreach (var address in addresses)
                    {
                        socket = new Socket(address.AddressFamily, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
                        try
                        {
                            await socket.ConnectAsync(new IPEndPoint(address, tcp.Port), cts.Token).ConfigureAwait(false);
                            last = null;
                            break;
                        }
                        catch (SocketException ex)
                        {
                            last = ex;
                            socket.Dispose();
                            socket = null;
                        }
                    }

                    if (socket is null)
                    {
                        throw last ?? new SocketException((int)SocketError.HostNotFound);
                    }

                    break;
                default:
                    throw new ArgumentException("Unknown endpoint type.", nameof(endpoint));
            }

            // Large buffers keep big WRITE payloads flowing on fast links.
            socket.SendBufferSize = Math.Max(socket.SendBufferSize, 4 * 1024 * 1024);
            socket.ReceiveBufferSize = Math.Max(socket.ReceiveBufferSize, 4 * 1024 * 1024);
            return socket;
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            socket?.Dispose();
            throw new NbdConnectionException($"Connecting to the NBD server at {endpoint} timed out after {timeout.TotalSeconds:0.#} s.");
        }
        catch (SocketException ex)
        {
            socket?.Dispose();
            throw new NbdConnectionException($"Cannot connect to the NBD server at {endpoint}: {ex.Message}.", ex);
        }
        catch
        {
            socket?.Dispose();
            throw;
        }
    }
}
