using System.Buffers.Binary;
using Whitesky.Nbd.Protocol;
using Whitesky.Nbd.Server;
using Whitesky.Nbd.Tests.Peers;
using Whitesky.Nbd.Tests.Server.Interop;

namespace Whitesky.Nbd.Tests.Server.Hostile;

/// <summary>Runs alone: its handshake timeout is short enough that a busy machine could trip the well-behaved clients too.</summary>
[CollectionDefinition(nameof(HandshakeTiming), DisableParallelization = true)]
public sealed class HandshakeTiming;

/// <summary>
/// Clients that break the handshake. The server drops that connection, promptly and without allocating
/// what a length field claims, and a proper client connected before (and one connecting after) keeps working.
/// </summary>
[Collection(nameof(HandshakeTiming))]
public class HandshakeAbuseTests
{
    private static readonly TimeSpan Prompt = TimeSpan.FromSeconds(5);

    private const int MaxOptions = 8;

    public static TheoryData<string> Violations => new()
    {
        "garbage client flags",
        "client flags without fixed newstyle",
        "bad option magic",
        "option length 0xFFFFFFFF",
        "more options than MaxOptions",
        "NBD_OPT_EXPORT_NAME longer than 4096 bytes",
        "end of stream inside an option",
    };

    [Theory]
    [MemberData(nameof(Violations))]
    public async Task A_handshake_violation_drops_that_connection_and_nobody_else(string violation)
    {
        var backend = new ArrayBackend(1 << 20);
        TestData.Random(1 << 20, seed: 81).CopyTo(backend.Bytes, 0);
        await using var server = await ServerUnderTest.StartAsync(unixSocket: false, tls: false, backend,
            configure: o => o with { MaxOptions = MaxOptions });
        await using var neighbour = await WellBehavedNeighbour.ConnectAsync(server, backend);

        await using var raw = await RawNbdClient.ConnectAsync(server.Endpoint);
        await raw.ReadGreetingAsync();
        switch (violation)
        {
            case "garbage client flags":
                await raw.SendClientFlagsAsync(0xDEADBEEF);
                break;
            case "client flags without fixed newstyle":
                await raw.SendClientFlagsAsync(NbdWire.NBD_FLAG_C_NO_ZEROES);
                break;
            case "bad option magic":
                await raw.SendClientFlagsAsync();
                await raw.SendAsync(RawNbdClient.OptionHeader(NbdWire.NBD_OPT_LIST, 0, magic: 0x1122334455667788));
                break;
            case "option length 0xFFFFFFFF":
                await raw.SendClientFlagsAsync();
                await raw.SendAsync(RawNbdClient.OptionHeader(NbdWire.NBD_OPT_GO, 0xFFFFFFFF));
                var (option, type, _) = await raw.ReadOptionReplyAsync();
                Assert.Equal((NbdWire.NBD_OPT_GO, NbdWire.NBD_REP_ERR_TOO_BIG), (option, type));
                break;
            case "more options than MaxOptions":
                await raw.SendClientFlagsAsync();
                for (var i = 0; i < MaxOptions; i++)
                {
                    var replies = await raw.OptionAsync(NbdWire.NBD_OPT_LIST, []);
                    Assert.Equal(NbdWire.NBD_REP_ACK, replies[^1].Type);
                }

                await raw.TrySendAsync(RawNbdClient.OptionHeader(NbdWire.NBD_OPT_LIST, 0));
                break;
            case "NBD_OPT_EXPORT_NAME longer than 4096 bytes":
                await raw.SendClientFlagsAsync();
                await raw.SendOptionAsync(NbdWire.NBD_OPT_EXPORT_NAME, new byte[5000]);
                break;
            case "end of stream inside an option":
                await raw.SendClientFlagsAsync();
                await raw.SendAsync(RawNbdClient.OptionHeader(NbdWire.NBD_OPT_GO, 100));
                await raw.SendAsync(new byte[10]);
                raw.Close();
                break;
            default:
                throw new ArgumentOutOfRangeException(nameof(violation));
        }

        if (violation != "end of stream inside an option")
        {
            var after = await raw.WaitForServerCloseAsync(Prompt);
            Assert.Empty(after);
        }

        var closed = await server.WhenClosedAsync(c => c.RemoteEndpoint == raw.LocalEndpoint);
        Assert.Null(closed.Export);
        Assert.IsAssignableFrom<IOException>(closed.Error);
        if (violation != "end of stream inside an option")
        {
            Assert.IsType<NbdProtocolException>(closed.Error);
        }

        await neighbour.CheckAsync();
        Assert.DoesNotContain(server.Commands, c => c.Command != NbdCommand.Read);
    }

    [Theory]
    [InlineData("after the greeting")]
    [InlineData("after the client flags")]
    [InlineData("after STARTTLS")]
    public async Task A_client_that_says_nothing_is_dropped_after_the_handshake_timeout(string stage)
    {
        // 300 ms as asked; inside TLS the well-behaved neighbour needs a full TLS handshake, so it gets longer.
        var tls = stage == "after STARTTLS";
        var timeout = TimeSpan.FromMilliseconds(tls ? 2000 : 300);
        var backend = new ArrayBackend(1 << 20);
        TestData.Random(1 << 20, seed: 82).CopyTo(backend.Bytes, 0);
        await using var server = await ServerUnderTest.StartAsync(unixSocket: false, tls, backend,
            configure: o => o with { HandshakeTimeout = timeout });
        await using var neighbour = await WellBehavedNeighbour.ConnectAsync(server, backend);

        // Started before connecting, so it cannot start after the server's clock for this connection.
        var started = System.Diagnostics.Stopwatch.StartNew();
        await using var raw = await RawNbdClient.ConnectAsync(server.Endpoint);
        await raw.ReadGreetingAsync();
        if (stage != "after the greeting")
        {
            await raw.SendClientFlagsAsync();
        }

        if (tls)
        {
            Assert.Equal(NbdWire.NBD_REP_ACK, Assert.Single(await raw.OptionAsync(NbdWire.NBD_OPT_STARTTLS, [])).Type);
        }

        // Nothing more is sent: not an option, not a TLS ClientHello.
        Assert.Empty(await raw.WaitForServerCloseAsync(timeout + Prompt));
        Assert.True(started.Elapsed >= timeout - TimeSpan.FromMilliseconds(20), $"dropped after {started.Elapsed.TotalMilliseconds:0} ms, before the timeout");
        var closed = await server.WhenClosedAsync(c => c.RemoteEndpoint == raw.LocalEndpoint);
        Assert.IsAssignableFrom<OperationCanceledException>(closed.Error);

        // The timeout is for the handshake only: the neighbour, long past it, is still served.
        await neighbour.CheckAsync();
    }

    [Fact]
    public async Task Lengths_inside_an_option_that_overrun_it_are_answered_ERR_INVALID_without_losing_sync()
    {
        var backend = new ArrayBackend(1 << 20);
        TestData.Random(1 << 20, seed: 83).CopyTo(backend.Bytes, 0);
        await using var server = await ServerUnderTest.StartAsync(unixSocket: false, tls: false, backend);
        await using var raw = await RawNbdClient.ConnectAsync(server.Endpoint);
        await raw.StartAsync();

        // NBD_OPT_GO / NBD_OPT_INFO whose name length runs past the option (by a little, and by 4 GiB).
        foreach (var option in new[] { NbdWire.NBD_OPT_GO, NbdWire.NBD_OPT_INFO })
        {
            foreach (var claimed in new[] { 100u, 0xFFFFFFF0u })
            {
                var data = new byte[4 + 4 + 2];
                BinaryPrimitives.WriteUInt32BigEndian(data, claimed);
                var reply = Assert.Single(await raw.OptionAsync(option, data));
                Assert.Equal(NbdWire.NBD_REP_ERR_INVALID, reply.Type);
            }
        }

        // Structured replies, then a SET_META_CONTEXT whose query count promises more than it holds.
        Assert.Equal(NbdWire.NBD_REP_ACK, Assert.Single(await raw.OptionAsync(NbdWire.NBD_OPT_STRUCTURED_REPLY, [])).Type);
        var meta = RawNbdClient.MetaContextRequest("disk", "base:allocation");
        BinaryPrimitives.WriteUInt32BigEndian(meta.AsSpan(8), 1000);
        Assert.Equal(NbdWire.NBD_REP_ERR_INVALID, Assert.Single(await raw.OptionAsync(NbdWire.NBD_OPT_SET_META_CONTEXT, meta)).Type);
        var longQuery = RawNbdClient.MetaContextRequest("disk", "base:allocation");
        BinaryPrimitives.WriteUInt32BigEndian(longQuery.AsSpan(12), 0xFFFFFFFF);
        Assert.Equal(NbdWire.NBD_REP_ERR_INVALID, Assert.Single(await raw.OptionAsync(NbdWire.NBD_OPT_SET_META_CONTEXT, longQuery)).Type);

        // Each was rejected as a whole: the stream is still in step, and the export opens and reads.
        var (size, _) = await raw.GoAsync("disk");
        Assert.Equal(1 << 20, size);
        var data0 = await raw.ReadAsync(1, 4096, 4096);
        Assert.Equal(TestData.Sha256(backend.Bytes.AsSpan(4096, 4096)), TestData.Sha256(data0));
    }
}
