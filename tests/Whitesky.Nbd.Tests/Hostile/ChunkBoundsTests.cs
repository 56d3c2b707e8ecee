namespace Whitesky.Nbd.Tests.Hostile;

/// <summary>
/// READ chunks that point outside their request, including offsets near 2^64 where a careless
/// <c>offset + length</c> wraps around (libnbd's 2019 remote code execution). The client must refuse
/// them before touching memory: the caller's buffer is a slice of a larger array whose guard bytes
/// must survive.
/// </summary>
public class ChunkBoundsTests
{
    private static readonly TimeSpan Limit = TimeSpan.FromSeconds(20);

    private const long Offset = 64 * 1024;
    private const int RequestLength = 4096;
    private const byte Guard = 0xA5;

    /// <summary>A chunk that breaks its READ's bounds, for a READ of <see cref="RequestLength"/> bytes at <paramref name="RequestOffset"/>.</summary>
    private sealed record BadChunk(long RequestOffset, Func<ulong, byte[]> Build, string Expected);

    private static readonly Dictionary<string, BadChunk> BadChunks = new()
    {
        ["OFFSET_DATA just past the end"] = new(Offset,
            c => FakeReplies.OffsetData(c, Offset + RequestLength, new byte[512], done: true),
            $"NBD_REPLY_TYPE_OFFSET_DATA for offset {Offset + RequestLength} length 512, outside the request"),
        ["OFFSET_DATA before the start"] = new(Offset,
            c => FakeReplies.OffsetData(c, Offset - 512, new byte[512], done: true),
            $"NBD_REPLY_TYPE_OFFSET_DATA for offset {Offset - 512} length 512, outside the request"),
        ["OFFSET_DATA straddling the end"] = new(Offset,
            c => FakeReplies.OffsetData(c, Offset + 3584, new byte[1024], done: true),
            $"NBD_REPLY_TYPE_OFFSET_DATA for offset {Offset + 3584} length 1024, outside the request"),
        ["OFFSET_DATA near 2^64 whose end wraps past zero"] = new(Offset,
            c => FakeReplies.OffsetData(c, ulong.MaxValue - 255, new byte[512], done: true),
            $"NBD_REPLY_TYPE_OFFSET_DATA for offset {ulong.MaxValue - 255} length 512, outside the request"),

        // The classic: for a READ at 0, offset + length wraps to 512, which a naive end check accepts.
        ["OFFSET_DATA whose end wraps into a read at offset 0"] = new(0,
            c => FakeReplies.OffsetData(c, ulong.MaxValue - 511, new byte[1024], done: true),
            $"NBD_REPLY_TYPE_OFFSET_DATA for offset {ulong.MaxValue - 511} length 1024, outside the request"),
        ["OFFSET_DATA carrying more than the request"] = new(Offset,
            c => FakeReplies.OffsetData(c, Offset, new byte[RequestLength + 512], done: true),
            $"NBD_REPLY_TYPE_OFFSET_DATA of {RequestLength + 512 + 8} bytes (must carry 1 to {RequestLength} data bytes after its offset)"),
        ["OFFSET_HOLE whose length runs past the end"] = new(Offset,
            c => FakeReplies.OffsetHole(c, Offset + 512, uint.MaxValue, done: true),
            $"NBD_REPLY_TYPE_OFFSET_HOLE for offset {Offset + 512} length {uint.MaxValue}, outside the request"),
        ["OFFSET_HOLE whose end wraps into a read at offset 0"] = new(0,
            c => FakeReplies.OffsetHole(c, ulong.MaxValue - 255, 1024, done: true),
            $"NBD_REPLY_TYPE_OFFSET_HOLE for offset {ulong.MaxValue - 255} length 1024, outside the request"),
        ["ERROR_OFFSET outside the request"] = new(Offset,
            c => FakeReplies.ErrorOffset(c, FakeNbdWire.EIO, Offset + 2 * RequestLength, done: true),
            $"NBD_REPLY_TYPE_ERROR_OFFSET for offset {Offset + 2 * RequestLength} length 1, outside the request"),

        // The spec: the offset MUST lie within the request; its end is not within it.
        ["ERROR_OFFSET at the request's end"] = new(Offset,
            c => FakeReplies.ErrorOffset(c, FakeNbdWire.EIO, Offset + RequestLength, done: true),
            $"NBD_REPLY_TYPE_ERROR_OFFSET for offset {Offset + RequestLength} length 1, outside the request"),
    };

    public static TheoryData<string> BadChunkNames => new(BadChunks.Keys);

    [Theory]
    [MemberData(nameof(BadChunkNames))]
    public async Task A_chunk_outside_its_read_is_refused_without_writing_outside_the_callers_slice(string name)
    {
        var bad = BadChunks[name];
        var head = Peers.TestData.Random(1024, seed: 7);
        await using var server = ScriptedNbdServer.StartAfterHandshake(async peer =>
        {
            var read = await peer.ExpectRequestAsync(NbdCommand.Read);
            Assert.Equal(((ulong)bad.RequestOffset, (uint)RequestLength), (read.Offset, read.Length));

            // A valid first chunk, so the client has written into the slice before the bad one arrives.
            await peer.SendAsync(FakeReplies.OffsetData(read.Cookie, read.Offset, head, done: false));
            await peer.SendAsync(bad.Build(read.Cookie));
            await peer.WaitForClientCloseAsync();
        });

        var client = await NbdClient.ConnectAsync(server.ClientOptions()).WaitAsync(Limit);
        await using (client)
        {
            var array = WellBehavedReplyTests.Filled(3 * RequestLength, Guard);
            var slice = array.AsMemory(RequestLength, RequestLength);

            var failure = await Assert.ThrowsAsync<NbdProtocolException>(() => client.ReadAsync(bad.RequestOffset, slice).AsTask().WaitAsync(Limit));
            Assert.Contains(bad.Expected, failure.Message, StringComparison.Ordinal);
            Assert.Contains($"READ at offset {bad.RequestOffset} length {RequestLength}", failure.Message, StringComparison.Ordinal);

            Assert.All(array.AsSpan(0, RequestLength).ToArray(), b => Assert.Equal(Guard, b));
            Assert.All(array.AsSpan(2 * RequestLength).ToArray(), b => Assert.Equal(Guard, b));
            Assert.Equal(head, array.AsSpan(RequestLength, head.Length).ToArray());
            Assert.All(array.AsSpan(RequestLength + head.Length, RequestLength - head.Length).ToArray(), b => Assert.Equal(Guard, b));

            await server.FirstSession.WaitAsync(Limit);
        }
    }
}
