namespace Whitesky.Nbd.Tests.Hostile;

/// <summary>Runs alone, so the process-wide allocation count it reads belongs to it.</summary>
[CollectionDefinition(nameof(AllocationSensitive), DisableParallelization = true)]
public sealed class AllocationSensitive;

/// <summary>
/// Chunk headers that claim about 4 GiB. The client must refuse them from the header alone: the
/// server sends nothing after the header and keeps the connection open, so only a client that reads
/// (or allocates) by the claimed length would wait, and only one that allocates it would show it in the
/// allocation count. Reading NbdConnection confirms it: every handler checks the length against the
/// request or a fixed cap before reading a byte of payload, and payload is copied through the
/// connection's fixed receive buffer.
/// </summary>
[Collection(nameof(AllocationSensitive))]
public class OversizedChunkTests
{
    private static readonly TimeSpan Limit = TimeSpan.FromSeconds(20);

    private const uint Claimed = 0xFFFFFFF0;

    public static TheoryData<string, NbdCommand, ushort, string> Oversized => new()
    {
        { "OFFSET_DATA", NbdCommand.Read, FakeNbdWire.ReplyTypeOffsetData, $"NBD_REPLY_TYPE_OFFSET_DATA of {Claimed} bytes" },
        { "OFFSET_HOLE", NbdCommand.Read, FakeNbdWire.ReplyTypeOffsetHole, $"NBD_REPLY_TYPE_OFFSET_HOLE of {Claimed} bytes (must be 12)" },
        { "BLOCK_STATUS", NbdCommand.BlockStatus, FakeNbdWire.ReplyTypeBlockStatus, $"NBD_REPLY_TYPE_BLOCK_STATUS of {Claimed} bytes" },
        { "ERROR", NbdCommand.Read, FakeNbdWire.ReplyTypeError, $"an error chunk of {Claimed} bytes" },
        { "ERROR_OFFSET", NbdCommand.Write, FakeNbdWire.ReplyTypeErrorOffset, $"an error chunk of {Claimed} bytes" },
        { "unknown error type", NbdCommand.Write, 0x8077, $"an error chunk of {Claimed} bytes" },
    };

    [Theory]
    [MemberData(nameof(Oversized))]
    public async Task A_chunk_claiming_4_GiB_is_refused_from_its_header_without_allocating_it(string type, NbdCommand command, ushort chunkType, string expected)
    {
        await using var server = ScriptedNbdServer.StartAfterHandshake(async peer =>
        {
            var request = await peer.ExpectRequestAsync(command);
            await peer.SendAsync(FakeReplies.ChunkWithLength(request.Cookie, chunkType, done: true, Claimed, new byte[16]));
            await peer.WaitForClientCloseAsync();
        });

        var client = await NbdClient.ConnectAsync(server.ClientOptions()).WaitAsync(Limit);
        await using (client)
        {
            var before = GC.GetTotalAllocatedBytes(precise: true);
            var call = command switch
            {
                NbdCommand.Read => client.ReadAsync(0, new byte[4096]).AsTask(),
                NbdCommand.Write => client.WriteAsync(0, new byte[4096]).AsTask(),
                _ => client.BlockStatusAsync(0, 4096).AsTask(),
            };

            var failure = await Assert.ThrowsAsync<NbdProtocolException>(() => call.WaitAsync(Limit));
            var allocated = GC.GetTotalAllocatedBytes(precise: true) - before;

            Assert.Contains(expected, failure.Message, StringComparison.Ordinal);
            Assert.True(allocated < 64L * 1024 * 1024, $"Refusing a {Claimed}-byte {type} chunk allocated {allocated} bytes.");
            await server.FirstSession.WaitAsync(Limit);
        }
    }
}
