using System.Net.Sockets;
using Whitesky.Nbd.Tests.Peers;

namespace Whitesky.Nbd.Tests.Server.Interop;

/// <summary>StopAsync drains: requests the server has read are answered before the connection closes; nothing new is accepted.</summary>
public class GracefulStopTests
{
    private static readonly TimeSpan Limit = ServerUnderTest.Limit;

    [Theory]
    [MemberData(nameof(NbdinfoInteropTests.Transports), MemberType = typeof(NbdinfoInteropTests))]
    public async Task Stop_waits_for_32_reads_in_flight_which_all_complete_and_then_refuses_new_clients(bool unixSocket, bool tls)
    {
        const int reads = 32;
        const int length = 64 * 1024;
        var backend = new GatedBackend(new ArrayBackend(reads * length), holdReads: true, holdWrites: false);
        TestData.Random(reads * length, seed: 71).CopyTo(backend.Inner.Bytes, 0);
        await using var server = await ServerUnderTest.StartAsync(unixSocket, tls, backend,
            configure: o => o with { MaxRequestsInFlight = 64 });
        var client = await server.ConnectAsync();
        try
        {
            var buffers = Enumerable.Range(0, reads).Select(_ => new byte[length]).ToArray();
            var pending = Enumerable.Range(0, reads)
                .Select(i => client.ReadAsync((long)i * length, buffers[i]).AsTask())
                .ToArray();
            await backend.WhenEnteredAsync(reads).WaitAsync(Limit);

            var stop = server.Server.StopAsync();

            // Every read is held inside the backend, so the drain cannot have finished.
            Assert.False(stop.IsCompleted);
            Assert.DoesNotContain(pending, t => t.IsCompleted);

            backend.Open();
            await Task.WhenAll(pending).WaitAsync(Limit);
            await stop.WaitAsync(Limit);

            for (var i = 0; i < reads; i++)
            {
                Assert.True(buffers[i].AsSpan().SequenceEqual(backend.Inner.Bytes.AsSpan(i * length, length)), $"read {i} returned other data");
            }

            Assert.Equal(reads, server.Count(NbdCommand.Read));
            Assert.Equal(reads, server.Commands.Count);
            Assert.Equal(0, server.Server.ConnectionCount);
            Assert.Single(server.Closed);

            // Stopped means not listening: the SDK client and a bare socket are both turned away.
            var refused = await Assert.ThrowsAsync<NbdConnectionException>(() => NbdClient.ConnectAsync(server.ClientOptions()).WaitAsync(Limit));
            Assert.Contains(server.Endpoint.ToString().Replace("unix:", string.Empty, StringComparison.Ordinal), refused.Message, StringComparison.Ordinal);
            await Assert.ThrowsAnyAsync<SocketException>(async () =>
            {
                await using var raw = await Hostile.RawNbdClient.ConnectAsync(server.Endpoint);
            });
            Assert.Single(server.Opened);
        }
        finally
        {
            backend.Open();
            await client.DisposeAsync().AsTask().WaitAsync(Limit);
        }
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task A_cancelled_stop_cuts_a_client_that_never_reads_its_replies(bool tls)
    {
        // 128 READs of 1 MiB whose replies nobody reads: far more than the socket buffers hold (8 MiB sent by the
        // server, at most 32 MiB received by the client), so the drain can never finish on its own.
        var backend = new ArrayBackend(8 << 20);
        await using var server = await ServerUnderTest.StartAsync(unixSocket: false, tls, backend);
        await using var raw = await Hostile.RawNbdClient.ConnectAsync(server.Endpoint);
        await raw.StartAsync();
        if (tls)
        {
            await raw.StartTlsAsync(new NbdTlsPsk(ServerUnderTest.Identity, server.Key));
        }

        await raw.GoAsync("disk");
        var requests = Enumerable.Range(0, 128).Select(i => Hostile.RawNbdClient.Request(NbdCommand.Read, (ulong)i + 1, (ulong)(i % 8) << 20, 1 << 20));
        await raw.SendAsync(Hostile.RawNbdClient.Concat([.. requests]));
        await server.WhenCommandsAsync(1);

        using var giveUp = new CancellationTokenSource();
        var stop = server.Server.StopAsync(giveUp.Token);
        Assert.False(stop.IsCompleted);
        await giveUp.CancelAsync();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => stop.WaitAsync(Limit));

        // Giving up on the drain must not leave the connection (and the buffers of its requests) behind,
        // with the client still not reading a byte.
        await server.WhenIdleAsync().WaitAsync(TimeSpan.FromSeconds(10));
        Assert.Equal(0, server.Server.ConnectionCount);
        Assert.True(server.Count(NbdCommand.Read) < 128, "every reply was sent although the client read none");
    }
}
