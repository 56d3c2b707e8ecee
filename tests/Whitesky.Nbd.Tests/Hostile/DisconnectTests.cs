namespace Whitesky.Nbd.Tests.Hostile;

/// <summary>What the client sends when it is disposed with requests still unanswered.</summary>
public class DisconnectTests
{
    private static readonly TimeSpan Limit = TimeSpan.FromSeconds(20);

    [Fact]
    public async Task Dispose_waits_for_the_late_reply_of_a_cancelled_read_and_then_sends_disc()
    {
        var readSeen = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var answerNow = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        List<FakeRequest>? afterwards = null;
        await using var server = ScriptedNbdServer.StartAfterHandshake(async peer =>
        {
            var read = await peer.ExpectRequestAsync(NbdCommand.Read);
            readSeen.SetResult();
            await answerNow.Task;
            await peer.SendAsync(FakeReplies.OffsetData(read.Cookie, read.Offset, new byte[read.Length], done: true));
            afterwards = await peer.WaitForClientCloseAsync();
        });

        var client = await NbdClient.ConnectAsync(server.ClientOptions()).WaitAsync(Limit);
        using var cancel = new CancellationTokenSource();
        var pending = client.ReadAsync(0, new byte[4096], cancel.Token).AsTask();
        await readSeen.Task.WaitAsync(Limit);
        await cancel.CancelAsync();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => pending.WaitAsync(Limit));

        var dispose = client.DisposeAsync().AsTask();
        answerNow.SetResult();
        await dispose.WaitAsync(Limit);
        await server.FirstSession.WaitAsync(Limit);

        // The abandoned READ was answered before the client said goodbye, and it did say goodbye.
        Assert.Equal(NbdCommand.Disconnect, Assert.Single(afterwards!).Command);
    }

    [Fact]
    public async Task Dispose_sends_disc_and_closes_without_waiting_for_the_server_to_hang_up()
    {
        var requests = new List<FakeRequest>();
        var clientClosed = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var release = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        await using var server = ScriptedNbdServer.StartAfterHandshake(async peer =>
        {
            // A server that never closes its side after DISC: it only notices the client's end of stream.
            while (await peer.ReadRequestAsync() is { } request)
            {
                requests.Add(request);
                if (request.Type == FakeNbdWire.CmdWrite)
                {
                    await peer.SendAsync(FakeReplies.None(request.Cookie));
                }
            }

            clientClosed.SetResult();
            await release.Task;
        });

        var client = await NbdClient.ConnectAsync(server.ClientOptions()).WaitAsync(Limit);
        await client.WriteAsync(0, new byte[4096]).AsTask().WaitAsync(Limit);

        // Before, the client waited up to 5 s for the server to close first; now it closes right after DISC.
        await client.DisposeAsync().AsTask().WaitAsync(TimeSpan.FromSeconds(4));
        await clientClosed.Task.WaitAsync(Limit);
        release.SetResult();
        await server.FirstSession.WaitAsync(Limit);

        Assert.Equal([FakeNbdWire.CmdWrite, FakeNbdWire.CmdDisconnect], requests.Select(r => r.Type));
    }

    [Fact]
    public async Task Overlapping_hole_chunks_fail_at_the_first_byte_too_many()
    {
        await using var server = ScriptedNbdServer.StartAfterHandshake(async peer =>
        {
            var read = await peer.ExpectRequestAsync(NbdCommand.Read);
            // The whole request as a hole, then the same hole again: the second one can only overlap.
            await peer.SendAsync(
                FakeReplies.OffsetHole(read.Cookie, read.Offset, read.Length, done: false),
                FakeReplies.OffsetHole(read.Cookie, read.Offset, read.Length, done: false));
            await peer.WaitForClientCloseAsync();
        });

        var client = await NbdClient.ConnectAsync(server.ClientOptions()).WaitAsync(Limit);
        await using var _ = client;
        var ex = await Assert.ThrowsAsync<NbdProtocolException>(() => client.ReadAsync(0, new byte[65536]).AsTask().WaitAsync(Limit));
        Assert.Contains("overlap", ex.Message, StringComparison.Ordinal);
    }
}
