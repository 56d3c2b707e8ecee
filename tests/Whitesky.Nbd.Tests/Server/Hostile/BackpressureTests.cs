using Whitesky.Nbd.Tests.Peers;
using Whitesky.Nbd.Tests.Server.Interop;

namespace Whitesky.Nbd.Tests.Server.Hostile;

/// <summary>
/// A client that pipelines far more requests than MaxRequestsInFlight and does not read the replies.
/// The server reads a request only when one of its slots is free, so the surplus waits in the socket
/// (the client's own send blocks) rather than in server memory; once the client catches up, every
/// request is answered exactly once.
/// </summary>
public class BackpressureTests
{
    private const int Requests = 100;
    private const int InFlight = 4;

    private static readonly TimeSpan Limit = ServerUnderTest.Limit;

    [Fact]
    public async Task Pipelined_writes_beyond_the_limit_stay_in_the_socket_until_the_server_has_a_free_slot()
    {
        const int chunk = 512 * 1024;
        var backend = new GatedBackend(new ArrayBackend(Requests * chunk), holdReads: false, holdWrites: true);
        await using var server = await ServerUnderTest.StartAsync(unixSocket: false, tls: false, backend,
            configure: o => o with { MaxRequestsInFlight = InFlight });
        await using var raw = await RawNbdClient.ConnectAsync(server.Endpoint);
        await raw.StartAsync();
        await raw.GoAsync("disk");

        // 50 MiB of WRITEs: far more than the socket buffers on both sides can hold.
        var data = TestData.Random(Requests * chunk, seed: 101);
        var sending = Task.Run(async () =>
        {
            for (var i = 0; i < Requests; i++)
            {
                var request = RawNbdClient.Request(NbdCommand.Write, (ulong)(i + 1), (ulong)i * chunk, chunk);
                await raw.Stream.WriteAsync(request);
                await raw.Stream.WriteAsync(data.AsMemory(i * chunk, chunk));
            }
        });

        await backend.WhenEnteredAsync(InFlight).WaitAsync(Limit);

        // Four writes are held in the backend and the server reads nothing more: the fifth never arrives,
        // no reply has gone out, and the client cannot finish sending.
        Assert.Equal(InFlight, backend.Entered);
        Assert.Empty(server.Commands);
        Assert.False(sending.IsCompleted, "The whole 50 MiB was accepted while the server had no free slot.");

        backend.Open();
        await sending.WaitAsync(Limit);
        var cookies = new List<ulong>();
        for (var i = 0; i < Requests; i++)
        {
            var reply = await raw.ReadReplyAsync();
            Assert.Equal(0u, reply.Error);
            cookies.Add(reply.Cookie);
        }

        Assert.Equal(Enumerable.Range(1, Requests).Select(i => (ulong)i), cookies.Order());
        Assert.Equal(InFlight, backend.MaxActive);
        Assert.Equal(TestData.Sha256(data), TestData.Sha256(backend.Inner.Bytes));
        await server.WhenCommandsAsync(Requests);
        Assert.Equal(Requests, server.Count(NbdCommand.Write));
    }

    [Fact]
    public async Task Pipelined_reads_whose_replies_are_not_read_hold_at_most_the_limit_of_buffers()
    {
        const int chunk = 1 << 20;
        const int slots = 16;
        ServerUnderTest? server = null;
        var entered = 0;
        var maxOutstanding = 0;
        var backend = new GatedBackend(new ArrayBackend(slots * chunk), holdReads: true, holdWrites: false)
        {
            // A read that reaches the backend has a reply buffer; the server reports a request after its
            // reply is sent and before its slot is freed, so this is the number of buffers alive now.
            OnEntered = () =>
            {
                var outstanding = Interlocked.Increment(ref entered) - server!.Commands.Count;
                InterlockedMax(ref maxOutstanding, outstanding);
            },
        };
        TestData.Random(slots * chunk, seed: 102).CopyTo(backend.Inner.Bytes, 0);
        server = await ServerUnderTest.StartAsync(unixSocket: true, tls: false, backend,
            configure: o => o with { MaxRequestsInFlight = InFlight });
        await using var _ = server;
        await using var raw = await RawNbdClient.ConnectAsync(server.Endpoint);
        await raw.StartAsync();
        await raw.GoAsync("disk");

        // 100 READs of 1 MiB in one write: 2,800 bytes of headers asking for 100 MiB of replies.
        await raw.SendAsync(RawNbdClient.Concat(Enumerable.Range(0, Requests)
            .Select(i => RawNbdClient.Request(NbdCommand.Read, (ulong)(i + 1), (ulong)(i % slots) * chunk, chunk))
            .ToArray()));

        await backend.WhenEnteredAsync(InFlight).WaitAsync(Limit);
        Assert.Equal(InFlight, backend.Entered);

        // Let the reads run while nobody reads the replies: the server fills the socket, then must stall.
        backend.Open();
        await server.WhenCommandsAsync(InFlight);

        var seen = new HashSet<ulong>();
        for (var i = 0; i < Requests; i++)
        {
            var reply = await raw.ReadReplyAsync(chunk);
            Assert.Equal(0u, reply.Error);
            Assert.True(seen.Add(reply.Cookie), $"cookie {reply.Cookie} answered twice");
            var offset = (int)((reply.Cookie - 1) % slots) * chunk;
            Assert.True(reply.Payload.AsSpan().SequenceEqual(backend.Inner.Bytes.AsSpan(offset, chunk)), $"cookie {reply.Cookie} carried other data");
        }

        Assert.Equal(Enumerable.Range(1, Requests).Select(i => (ulong)i), seen.Order());
        Assert.InRange(maxOutstanding, 1, InFlight);
        Assert.InRange(backend.MaxActive, 1, InFlight);
        await server.WhenCommandsAsync(Requests);
        Assert.Equal(Requests, server.Count(NbdCommand.Read));
    }

    private static void InterlockedMax(ref int target, int value)
    {
        var current = Volatile.Read(ref target);
        while (value > current)
        {
            var seen = Interlocked.CompareExchange(ref target, value, current);
            if (seen == current)
            {
                return;
            }

            current = seen;
        }
    }
}
