using System.Diagnostics;
using Whitesky.Nbd.Tests.Peers;

namespace Whitesky.Nbd.Tests.Hostile;

/// <summary>
/// Servers that stop answering or stop reading. With a request timeout set, no call may hang: not one
/// waiting for its reply, not one queued for an in-flight slot that unanswered requests hold, and not
/// one stuck behind a write the server never takes off the socket.
/// </summary>
public class UnresponsiveServerTests
{
    private static readonly TimeSpan Limit = TimeSpan.FromSeconds(20);

    private const byte Sentinel = 0x5A;

    [Fact]
    public async Task Calls_queued_behind_unanswered_requests_fail_after_the_timeout_and_work_again_once_the_late_replies_come()
    {
        var data = TestData.Random(4096, seed: 51);
        var release = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        await using var server = ScriptedNbdServer.StartAfterHandshake(async peer =>
        {
            var unanswered = await peer.ExpectRequestsAsync(2);
            await release.Task.WaitAsync(Limit);
            foreach (var late in unanswered)
            {
                await peer.SendAsync(FakeReplies.OffsetData(late.Cookie, late.Offset, data, done: true));
            }

            var next = await peer.ExpectRequestAsync(NbdCommand.Read);
            Assert.Equal(12288UL, next.Offset);
            await peer.SendAsync(FakeReplies.OffsetData(next.Cookie, next.Offset, data, done: true));
            await peer.WaitForClientCloseAsync();
        });

        var options = server.ClientOptions() with { MaxRequestsInFlight = 2, RequestTimeout = TimeSpan.FromMilliseconds(300) };
        var client = await NbdClient.ConnectAsync(options).WaitAsync(Limit);
        await using (client)
        {
            var first = WellBehavedReplyTests.Filled(4096, Sentinel);
            var second = WellBehavedReplyTests.Filled(4096, Sentinel);
            var r1 = client.ReadAsync(0, first).AsTask();
            var r2 = client.ReadAsync(4096, second).AsTask();
            var t1 = await Assert.ThrowsAsync<NbdConnectionException>(() => r1.WaitAsync(Limit));
            var t2 = await Assert.ThrowsAsync<NbdConnectionException>(() => r2.WaitAsync(Limit));
            Assert.Contains("did not answer READ at offset 0 length 4096 within 0.3 s", t1.Message, StringComparison.Ordinal);
            Assert.Contains("did not answer READ at offset 4096 length 4096 within 0.3 s", t2.Message, StringComparison.Ordinal);

            // Both slots are held by requests the server may still answer; a third call must not wait for ever.
            var clock = Stopwatch.StartNew();
            var queued = await Assert.ThrowsAsync<NbdConnectionException>(() => client.ReadAsync(8192, new byte[4096]).AsTask().WaitAsync(Limit));
            clock.Stop();
            Assert.Contains("READ at offset 8192 length 4096", queued.Message, StringComparison.Ordinal);
            Assert.Contains(server.Endpoint.ToString(), queued.Message, StringComparison.Ordinal);
            Assert.True(clock.Elapsed < TimeSpan.FromSeconds(5), $"A call queued behind unanswered requests took {clock.Elapsed} to fail.");

            // The server wakes up: the late replies free the slots and are consumed without touching the abandoned buffers.
            release.SetResult();
            var fresh = new byte[4096];
            await client.ReadAsync(12288, fresh).AsTask().WaitAsync(Limit);
            Assert.Equal(data, fresh);
            Assert.All(first, b => Assert.Equal(Sentinel, b));
            Assert.All(second, b => Assert.Equal(Sentinel, b));
        }

        await server.FirstSession.WaitAsync(Limit);
    }

    [Fact]
    public async Task A_server_that_stops_reading_cannot_hold_writes_past_the_request_timeout()
    {
        await using var server = ScriptedNbdServer.StartAfterHandshake(peer => peer.StallAsync(), new FakeExport { Size = 64L * 1024 * 1024 });
        var options = server.ClientOptions() with { RequestTimeout = TimeSpan.FromMilliseconds(500) };
        var client = await NbdClient.ConnectAsync(options).WaitAsync(Limit);
        await using (client)
        {
            // 32 MiB: far more than the loopback socket buffers hold, so the client's writes block.
            const int size = 1024 * 1024;
            var data = TestData.Random(size, seed: 52);
            var writes = Enumerable.Range(0, 32).Select(i => client.WriteAsync((long)i * size, data).AsTask()).ToArray();

            var clock = Stopwatch.StartNew();
            try
            {
                await Task.WhenAll(writes).WaitAsync(Limit);
            }
            catch (NbdConnectionException)
            {
            }

            clock.Stop();
            Assert.True(clock.Elapsed < TimeSpan.FromSeconds(10), $"Writes to a server that stopped reading took {clock.Elapsed} to fail.");
            foreach (var write in writes)
            {
                var failure = Assert.IsType<NbdConnectionException>(write.Exception?.InnerException);
                Assert.Contains(server.Endpoint.ToString(), failure.Message, StringComparison.Ordinal);
            }

            await Assert.ThrowsAsync<NbdConnectionException>(() => client.WriteAsync(0, data.AsMemory(0, 512)).AsTask().WaitAsync(TimeSpan.FromSeconds(2)));
        }
    }
}
