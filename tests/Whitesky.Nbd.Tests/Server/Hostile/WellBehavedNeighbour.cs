using Whitesky.Nbd.Tests.Peers;
using Whitesky.Nbd.Tests.Server.Interop;

namespace Whitesky.Nbd.Tests.Server.Hostile;

/// <summary>
/// A proper client of the same server as a hostile one: connected before the abuse, it must keep
/// reading the right bytes, and a client connecting after it must too.
/// </summary>
internal sealed class WellBehavedNeighbour : IAsyncDisposable
{
    private readonly ServerUnderTest _server;
    private readonly ArrayBackend _backend;
    private readonly NbdClient _client;

    private WellBehavedNeighbour(ServerUnderTest server, ArrayBackend backend, NbdClient client)
    {
        _server = server;
        _backend = backend;
        _client = client;
    }

    public static async Task<WellBehavedNeighbour> ConnectAsync(ServerUnderTest server, ArrayBackend backend)
    {
        var neighbour = new WellBehavedNeighbour(server, backend, await server.ConnectAsync());
        await neighbour.CheckAsync();
        return neighbour;
    }

    /// <summary>The connection made before the abuse, and a fresh one, both read what the backend holds (SHA-256).</summary>
    public async Task CheckAsync()
    {
        await ReadAllAndCompareAsync(_client);
        await using var fresh = await _server.ConnectAsync();
        await ReadAllAndCompareAsync(fresh);
    }

    private async Task ReadAllAndCompareAsync(NbdClient client)
    {
        var read = new byte[_backend.Bytes.Length];
        await client.ReadAsync(0, read).AsTask().WaitAsync(ServerUnderTest.Limit);
        Assert.Equal(TestData.Sha256(_backend.Bytes), TestData.Sha256(read));
    }

    public ValueTask DisposeAsync() => _client.DisposeAsync();
}
