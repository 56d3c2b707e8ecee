namespace Whitesky.Nbd.Tests.Hostile;

/// <summary>
/// A server that closes the connection part-way through a reply. The client reports a truncated reply
/// as a protocol violation (<see cref="NbdProtocolException"/>), while a close between replies with a
/// request pending is a lost connection (<see cref="NbdConnectionException"/>).
/// </summary>
public class TruncatedReplyTests
{
    private static readonly TimeSpan Limit = TimeSpan.FromSeconds(20);

    public static TheoryData<string> Truncations => new()
    {
        "OFFSET_DATA header then close",
        "OFFSET_DATA cut inside its data",
        "half a simple reply header",
        "half a structured reply header",
        "magic only",
    };

    [Theory]
    [MemberData(nameof(Truncations))]
    public async Task A_reply_cut_short_by_a_close_is_a_truncated_reply(string how)
    {
        await using var server = ScriptedNbdServer.StartAfterHandshake(async peer =>
        {
            var read = await peer.ExpectRequestAsync(NbdCommand.Read);
            var whole = FakeReplies.OffsetData(read.Cookie, read.Offset, new byte[4096], done: true);
            var cut = how switch
            {
                "OFFSET_DATA header then close" => whole[..20],
                "OFFSET_DATA cut inside its data" => whole[..(20 + 8 + 100)],
                "half a simple reply header" => FakeReplies.Simple(read.Cookie, FakeNbdWire.EIO)[..10],
                "half a structured reply header" => whole[..12],
                "magic only" => whole[..4],
                _ => throw new ArgumentOutOfRangeException(nameof(how)),
            };
            await peer.SendAsync(cut);
            peer.EndOutput();
            await peer.WaitForClientCloseAsync();
        });

        var client = await NbdClient.ConnectAsync(server.ClientOptions()).WaitAsync(Limit);
        await using (client)
        {
            var failure = await Assert.ThrowsAsync<NbdProtocolException>(() => client.ReadAsync(0, new byte[4096]).AsTask().WaitAsync(Limit));
            Assert.Contains("closed the connection in the middle of a reply (truncated reply)", failure.Message, StringComparison.Ordinal);
            await server.FirstSession.WaitAsync(Limit);

            var later = await Assert.ThrowsAsync<NbdProtocolException>(() => client.WriteAsync(0, new byte[512]).AsTask().WaitAsync(Limit));
            Assert.Contains("truncated reply", later.Message, StringComparison.Ordinal);
        }
    }

    [Fact]
    public async Task A_close_between_replies_with_a_request_pending_is_a_lost_connection()
    {
        await using var server = ScriptedNbdServer.StartAfterHandshake(async peer =>
        {
            var requests = await peer.ExpectRequestsAsync(2);
            var first = requests.Single(r => r.Offset == 0);
            await peer.SendAsync(FakeReplies.OffsetData(first.Cookie, 0, new byte[512], done: true));
            peer.EndOutput();
            await peer.WaitForClientCloseAsync();
        });

        var client = await NbdClient.ConnectAsync(server.ClientOptions()).WaitAsync(Limit);
        await using (client)
        {
            var answered = client.ReadAsync(0, new byte[512]).AsTask();
            var orphan = client.ReadAsync(4096, new byte[512]).AsTask();

            await answered.WaitAsync(Limit);
            var failure = await Assert.ThrowsAsync<NbdConnectionException>(() => orphan.WaitAsync(Limit));
            Assert.Contains("closed the connection with 1 request(s) unanswered", failure.Message, StringComparison.Ordinal);
            await server.FirstSession.WaitAsync(Limit);
        }
    }
}
