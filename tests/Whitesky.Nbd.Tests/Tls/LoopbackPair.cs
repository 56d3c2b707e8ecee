using System.Net;
using System.Net.Sockets;

namespace Whitesky.Nbd.Tests.Tls;

/// <summary>Two ends of a real TCP connection on the loopback interface.</summary>
internal sealed class LoopbackPair : IAsyncDisposable
{
    private LoopbackPair(NetworkStream client, NetworkStream server)
    {
        Client = client;
        Server = server;
    }

    public NetworkStream Client { get; }

    public NetworkStream Server { get; }

    public static async Task<LoopbackPair> CreateAsync()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        var client = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        var accept = listener.AcceptSocketAsync();
        await client.ConnectAsync((IPEndPoint)listener.LocalEndpoint);
        var server = await accept;
        server.NoDelay = true;
        return new LoopbackPair(new NetworkStream(client, ownsSocket: true), new NetworkStream(server, ownsSocket: true));
    }

    public async ValueTask DisposeAsync()
    {
        await Client.DisposeAsync();
        await Server.DisposeAsync();
    }
}
