using Whitesky.Nbd.Tests.Peers;

namespace Whitesky.Nbd.Tests.Hostile;

/// <summary>
/// The fake server speaking the protocol correctly. These prove the fake's handshake and reply encoding
/// right, so that when the same fake breaks one rule elsewhere, the client's refusal is about that rule.
/// </summary>
public class WellBehavedReplyTests
{
    private static readonly TimeSpan Limit = TimeSpan.FromSeconds(20);

    [Fact]
    public async Task Out_of_order_interleaved_chunks_fill_each_read_exactly()
    {
        var a = TestData.Random(4096, seed: 1);
        var b = TestData.Random(2048, seed: 2);
        var c = TestData.Random(512, seed: 3);
        await using var server = ScriptedNbdServer.StartAfterHandshake(async peer =>
        {
            var requests = await peer.ExpectRequestsAsync(3);
            var ra = requests.Single(r => r.Offset == 0);
            var rb = requests.Single(r => r.Offset == 8192);
            var rc = requests.Single(r => r.Offset == 65536);
            Assert.All(requests, r => Assert.Equal(NbdCommand.Read, r.Command));
            Assert.Equal((4096u, 2048u, 512u), (ra.Length, rb.Length, rc.Length));

            // A: its tail first, then a hole in the middle, its head last; B and C in between.
            await peer.SendAsync(FakeReplies.OffsetData(ra.Cookie, 3072, a.AsSpan(3072), done: false));
            await peer.SendAsync(FakeReplies.OffsetData(rc.Cookie, 65536, c, done: false));
            await peer.SendAsync(FakeReplies.OffsetData(rb.Cookie, 8192, b, done: true));
            await peer.SendAsync(FakeReplies.OffsetHole(ra.Cookie, 1024, 2048, done: false));
            await peer.SendAsync(FakeReplies.None(rc.Cookie));
            await peer.SendAsync(FakeReplies.OffsetData(ra.Cookie, 0, a.AsSpan(0, 1024), done: true));
            await peer.WaitForClientCloseAsync();
        });

        var client = await NbdClient.ConnectAsync(server.ClientOptions()).WaitAsync(Limit);
        Assert.True(client.Export.StructuredReplies);
        Assert.Equal([NbdMetaContexts.BaseAllocation], client.Export.MetaContexts);
        Assert.Equal(512, client.Export.MinimumBlockSize);

        var bufferA = Filled(4096, 0xEE);
        var bufferB = Filled(2048, 0xEE);
        var bufferC = Filled(512, 0xEE);
        await Task.WhenAll(
            client.ReadAsync(0, bufferA).AsTask(),
            client.ReadAsync(8192, bufferB).AsTask(),
            client.ReadAsync(65536, bufferC).AsTask()).WaitAsync(Limit);

        var expectedA = (byte[])a.Clone();
        Array.Clear(expectedA, 1024, 2048);
        Assert.Equal(TestData.Sha256(expectedA), TestData.Sha256(bufferA));
        Assert.Equal(TestData.Sha256(b), TestData.Sha256(bufferB));
        Assert.Equal(TestData.Sha256(c), TestData.Sha256(bufferC));

        await client.DisposeAsync().AsTask().WaitAsync(Limit);
        await server.FirstSession.WaitAsync(Limit);
    }

    [Fact]
    public async Task Block_status_writes_and_error_replies_are_decoded_and_the_connection_survives_errors()
    {
        var data = TestData.Random(1024, seed: 4);
        List<FakeRequest>? afterwards = null;
        await using var server = ScriptedNbdServer.StartAfterHandshake(async peer =>
        {
            var status = await peer.ExpectRequestAsync(NbdCommand.BlockStatus);
            await peer.SendAsync(FakeReplies.BlockStatus(status.Cookie, new FakeExport().BaseAllocationId, done: true,
                (4096, 0), (8192, NbdExtent.HoleFlag | NbdExtent.ZeroFlag)));

            var write = await peer.ExpectRequestAsync(NbdCommand.Write);
            Assert.Equal(TestData.Sha256(data), TestData.Sha256(write.Payload));
            await peer.SendAsync(FakeReplies.Simple(write.Cookie, FakeNbdWire.ENOSPC));

            var read = await peer.ExpectRequestAsync(NbdCommand.Read);
            await peer.SendAsync(FakeReplies.Error(read.Cookie, FakeNbdWire.EIO, "medium on fire", done: false), FakeReplies.None(read.Cookie));

            var write2 = await peer.ExpectRequestAsync(NbdCommand.Write);
            await peer.SendAsync(FakeReplies.ErrorOffset(write2.Cookie, FakeNbdWire.EIO, write2.Offset + 512, done: true));

            var read2 = await peer.ExpectRequestAsync(NbdCommand.Read);
            await peer.SendAsync(FakeReplies.OffsetData(read2.Cookie, read2.Offset, data, done: true));
            afterwards = await peer.WaitForClientCloseAsync();
        });

        var client = await NbdClient.ConnectAsync(server.ClientOptions()).WaitAsync(Limit);

        var status = await client.BlockStatusAsync(0, 8192).AsTask().WaitAsync(Limit);
        Assert.Equal([new NbdExtent(0, 4096, 0), new NbdExtent(4096, 8192, 3)], status[NbdMetaContexts.BaseAllocation]);

        var full = await Assert.ThrowsAsync<NbdException>(() => client.WriteAsync(2048, data).AsTask().WaitAsync(Limit));
        Assert.Equal((NbdError.ENOSPC, "ENOSPC", NbdCommand.Write, 2048L, 1024L), (full.Error, full.ErrorName, full.Command, full.Offset, full.Length));

        var failedRead = await Assert.ThrowsAsync<NbdException>(() => client.ReadAsync(4096, new byte[1024]).AsTask().WaitAsync(Limit));
        Assert.Equal((NbdError.EIO, NbdCommand.Read, 4096L, 1024L, "medium on fire"),
            (failedRead.Error, failedRead.Command, failedRead.Offset, failedRead.Length, failedRead.ServerMessage));
        Assert.Contains("medium on fire", failedRead.Message, StringComparison.Ordinal);

        var partial = await Assert.ThrowsAsync<NbdException>(() => client.WriteAsync(8192, data).AsTask().WaitAsync(Limit));
        Assert.Equal((NbdError.EIO, NbdCommand.Write, 8192L + 512), (partial.Error, partial.Command, partial.Offset));

        var buffer = new byte[1024];
        await client.ReadAsync(12288, buffer).AsTask().WaitAsync(Limit);
        Assert.Equal(TestData.Sha256(data), TestData.Sha256(buffer));

        await client.DisposeAsync().AsTask().WaitAsync(Limit);
        await server.FirstSession.WaitAsync(Limit);
        Assert.Equal(NbdCommand.Disconnect, Assert.Single(afterwards!).Command);
    }

    internal static byte[] Filled(int length, byte value)
    {
        var buffer = new byte[length];
        buffer.AsSpan().Fill(value);
        return buffer;
    }
}
