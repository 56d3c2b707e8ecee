namespace Whitesky.Nbd.Tests.Hostile;

/// <summary>
/// A server that negotiates correctly and then answers one request wrongly. Each violation must fail
/// that request and every other pending one with <see cref="NbdProtocolException"/> naming the problem,
/// close the connection, and make later calls fail at once.
/// </summary>
public class TransmissionViolationTests
{
    private static readonly TimeSpan Limit = TimeSpan.FromSeconds(20);

    /// <summary>Where the innocent bystander request reads; the server never answers it.</summary>
    private const long BystanderOffset = 512 * 1024;

    private sealed record Scenario(NbdCommand Command, Func<FakeRequest, byte[]> Reply, string Expected);

    private static readonly uint ContextId = new FakeExport().BaseAllocationId;

    private static readonly Dictionary<string, Scenario> Scenarios = new()
    {
        ["reply with an unknown cookie"] = new(NbdCommand.Read,
            r => FakeReplies.OffsetData(r.Cookie + 1000, r.Offset, new byte[4096], done: true),
            "which belongs to no request in flight"),
        ["bad reply magic"] = new(NbdCommand.Read,
            r => [0xDE, 0xAD, 0xBE, 0xEF, .. FakeReplies.Simple(r.Cookie).AsSpan(4)],
            "bad magic 0xdeadbeef"),
        ["simple reply to READ after structured replies were negotiated"] = new(NbdCommand.Read,
            r => FakeReplies.Simple(r.Cookie, 0, new byte[4096]),
            "a simple reply to READ, although structured replies were negotiated"),
        ["READ chunks that leave a gap"] = new(NbdCommand.Read,
            r => FakeReplies.Concat(
                FakeReplies.OffsetData(r.Cookie, 0, new byte[1024], done: false),
                FakeReplies.OffsetData(r.Cookie, 2048, new byte[2048], done: true)),
            "READ chunks that do not cover the request exactly once"),
        ["READ chunks that overlap"] = new(NbdCommand.Read,
            r => FakeReplies.Concat(
                FakeReplies.OffsetData(r.Cookie, 0, new byte[2048], done: false),
                FakeReplies.OffsetData(r.Cookie, 1024, new byte[3072], done: true)),
            "READ chunks that overlap"),
        ["OFFSET_DATA for a WRITE"] = new(NbdCommand.Write,
            r => FakeReplies.OffsetData(r.Cookie, 0, new byte[512], done: true),
            "NBD_REPLY_TYPE_OFFSET_DATA for a command that is not READ"),
        ["unknown chunk type without the error bit"] = new(NbdCommand.Read,
            r => FakeReplies.Chunk(r.Cookie, 77, done: true, new byte[4]),
            "an unknown reply chunk type 77"),
        ["BLOCK_STATUS for an unknown context id"] = new(NbdCommand.BlockStatus,
            r => FakeReplies.BlockStatus(r.Cookie, ContextId + 1, done: true, (4096, 0)),
            $"block status for meta context id {ContextId + 1}, which was not negotiated"),
        ["BLOCK_STATUS with a zero-length descriptor"] = new(NbdCommand.BlockStatus,
            r => FakeReplies.BlockStatus(r.Cookie, ContextId, done: true, (2048, 0), (0, 1)),
            "a zero-length block status descriptor (#1 for 'base:allocation')"),
        ["two BLOCK_STATUS chunks for the same context"] = new(NbdCommand.BlockStatus,
            r => FakeReplies.Concat(
                FakeReplies.BlockStatus(r.Cookie, ContextId, done: false, (4096, 0)),
                FakeReplies.BlockStatus(r.Cookie, ContextId, done: true, (4096, 3))),
            "two block status chunks for context 'base:allocation'"),
        ["BLOCK_STATUS answered without a chunk for the negotiated context"] = new(NbdCommand.BlockStatus,
            r => FakeReplies.None(r.Cookie),
            "0 block status chunk(s) for 1 negotiated context(s)"),
        ["error chunk with error value 0"] = new(NbdCommand.Read,
            r => FakeReplies.Error(r.Cookie, 0, "nothing wrong", done: true),
            "an error chunk with error value 0"),
        ["error chunk whose message is longer than the chunk"] = new(NbdCommand.Read,
            r => FakeReplies.Error(r.Cookie, FakeNbdWire.EIO, "short", done: true, claimedMessageLength: 100),
            "an error message of 100 bytes in a 11-byte chunk"),
    };

    public static TheoryData<string> ScenarioNames => new(Scenarios.Keys);

    [Theory]
    [MemberData(nameof(ScenarioNames))]
    public async Task A_protocol_violation_fails_every_pending_request_and_closes_the_connection(string name)
    {
        var scenario = Scenarios[name];
        ulong offendingCookie = 0;
        await using var server = ScriptedNbdServer.StartAfterHandshake(async peer =>
        {
            var requests = await peer.ExpectRequestsAsync(2);
            var offending = requests.Single(r => r.Offset != BystanderOffset);
            Assert.Equal(scenario.Command, offending.Command);
            offendingCookie = offending.Cookie;
            await peer.SendAsync(scenario.Reply(offending));

            // The bystander is never answered: only the client closing the connection ends this.
            await peer.WaitForClientCloseAsync();
        });

        var client = await NbdClient.ConnectAsync(server.ClientOptions()).WaitAsync(Limit);
        await using (client)
        {
            var bystander = client.ReadAsync(BystanderOffset, new byte[512]).AsTask();
            var offending = Issue(client, scenario.Command);

            var failure = await Assert.ThrowsAsync<NbdProtocolException>(() => offending.WaitAsync(Limit));
            var expected = scenario.Expected;
            Assert.Contains(expected, failure.Message, StringComparison.Ordinal);
            if (name == "reply with an unknown cookie")
            {
                Assert.Contains($"cookie {offendingCookie + 1000},", failure.Message, StringComparison.Ordinal);
            }
            Assert.Contains(server.Endpoint.ToString(), failure.Message, StringComparison.Ordinal);

            var bystanderFailure = await Assert.ThrowsAsync<NbdProtocolException>(() => bystander.WaitAsync(Limit));
            Assert.Contains(expected, bystanderFailure.Message, StringComparison.Ordinal);

            // The client hung up: the server's read loop saw the end of the stream.
            await server.FirstSession.WaitAsync(Limit);

            var later = await Assert.ThrowsAsync<NbdProtocolException>(() => client.ReadAsync(0, new byte[512]).AsTask().WaitAsync(Limit));
            Assert.Contains(expected, later.Message, StringComparison.Ordinal);
        }
    }

    private static Task Issue(NbdClient client, NbdCommand command) => command switch
    {
        NbdCommand.Read => client.ReadAsync(0, new byte[4096]).AsTask(),
        NbdCommand.Write => client.WriteAsync(0, new byte[4096]).AsTask(),
        NbdCommand.BlockStatus => client.BlockStatusAsync(0, 4096).AsTask(),
        _ => throw new ArgumentOutOfRangeException(nameof(command)),
    };
}
