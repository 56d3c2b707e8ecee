using System.Buffers.Binary;
using System.Diagnostics;
using System.Text;

namespace Whitesky.Nbd.Tests.Hostile;

/// <summary>
/// Servers that break the handshake. The client must refuse with the right exception, say what was
/// wrong, and simply hang up: the fake counts what the client sent after the offending message.
/// </summary>
public class HandshakeViolationTests
{
    private static readonly TimeSpan Limit = TimeSpan.FromSeconds(20);

    [Fact]
    public async Task A_greeting_with_bad_magic_is_not_an_nbd_server()
    {
        long sentAfter = -1;
        await using var server = ScriptedNbdServer.Start(async peer =>
        {
            var greeting = new byte[18];
            Encoding.ASCII.GetBytes("HTTP/1.1").CopyTo(greeting, 0);
            BinaryPrimitives.WriteUInt64BigEndian(greeting.AsSpan(8), FakeNbdWire.IHAVEOPT);
            await peer.SendAsync(greeting);
            sentAfter = await peer.DrainUntilClosedAsync();
        });

        var failure = await Assert.ThrowsAsync<NbdProtocolException>(() => NbdClient.ConnectAsync(server.ClientOptions()).WaitAsync(Limit));
        Assert.Contains("is not an NBD server (greeting magic 0x485454502f312e31, expected NBDMAGIC)", failure.Message, StringComparison.Ordinal);
        await server.FirstSession.WaitAsync(Limit);
        Assert.Equal(0, sentAfter);
    }

    [Fact]
    public async Task An_oldstyle_server_is_refused()
    {
        long sentAfter = -1;
        await using var server = ScriptedNbdServer.Start(async peer =>
        {
            var greeting = new byte[8 + 8 + 8 + 4 + 124];
            BinaryPrimitives.WriteUInt64BigEndian(greeting, FakeNbdWire.NBDMAGIC);
            BinaryPrimitives.WriteUInt64BigEndian(greeting.AsSpan(8), FakeNbdWire.OldStyleMagic);
            BinaryPrimitives.WriteUInt64BigEndian(greeting.AsSpan(16), 1024 * 1024);
            BinaryPrimitives.WriteUInt32BigEndian(greeting.AsSpan(24), 1);
            await peer.SendAsync(greeting);
            sentAfter = await peer.DrainUntilClosedAsync();
        });

        var failure = await Assert.ThrowsAsync<NbdProtocolException>(() => NbdClient.ConnectAsync(server.ClientOptions()).WaitAsync(Limit));
        Assert.Contains("speaks the oldstyle handshake", failure.Message, StringComparison.Ordinal);
        await server.FirstSession.WaitAsync(Limit);
        Assert.Equal(0, sentAfter);
    }

    [Fact]
    public async Task A_newstyle_server_without_fixed_newstyle_is_refused()
    {
        long sentAfter = -1;
        await using var server = ScriptedNbdServer.Start(async peer =>
        {
            await peer.SendGreetingAsync(flags: 0);
            sentAfter = await peer.DrainUntilClosedAsync();
        });

        var failure = await Assert.ThrowsAsync<NbdProtocolException>(() => NbdClient.ConnectAsync(server.ClientOptions()).WaitAsync(Limit));
        Assert.Contains("does not support fixed newstyle negotiation", failure.Message, StringComparison.Ordinal);
        await server.FirstSession.WaitAsync(Limit);
        Assert.Equal(0, sentAfter);
    }

    [Theory]
    [InlineData(16 * 1024 + 1)]
    [InlineData(0x7FFFFFFF)]
    [InlineData(0xFFFFFFFF)]
    public async Task An_option_reply_longer_than_16_KiB_is_refused_from_its_header(uint claimed)
    {
        long sentAfter = -1;
        await using var server = ScriptedNbdServer.Start(async peer =>
        {
            await peer.SendGreetingAsync();
            await peer.ReadClientFlagsAsync();
            var (option, _) = await peer.ReadOptionAsync();
            Assert.Equal(FakeNbdWire.OptStructuredReply, option);

            // Header only: a client that waited for (or allocated) the claimed bytes would hang here.
            await peer.SendOptionReplyAsync(option, FakeNbdWire.RepAck, claimedLength: claimed);
            sentAfter = await peer.DrainUntilClosedAsync();
        });

        var failure = await Assert.ThrowsAsync<NbdProtocolException>(() => NbdClient.ConnectAsync(server.ClientOptions()).WaitAsync(Limit));
        Assert.Contains($"NBD_REP_ACK reply to NBD_OPT_STRUCTURED_REPLY claims {claimed} bytes; the limit is 16384", failure.Message, StringComparison.Ordinal);
        await server.FirstSession.WaitAsync(Limit);
        Assert.Equal(0, sentAfter);
    }

    [Fact]
    public async Task A_server_that_never_speaks_hits_the_handshake_timeout_promptly()
    {
        long sentByClient = -1;
        await using var server = ScriptedNbdServer.Start(async peer => sentByClient = await peer.DrainUntilClosedAsync());
        var options = server.ClientOptions() with { HandshakeTimeout = TimeSpan.FromMilliseconds(300) };

        var clock = Stopwatch.StartNew();
        var failure = await Assert.ThrowsAsync<NbdConnectionException>(() => NbdClient.ConnectAsync(options).WaitAsync(Limit));
        clock.Stop();

        Assert.Contains($"The handshake with the NBD server at {server.Endpoint} did not finish within 0.3 s", failure.Message, StringComparison.Ordinal);
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(5), $"The 300 ms handshake timeout took {clock.Elapsed} to fire.");

        // The client closed its socket rather than leaving it to the finaliser.
        await server.FirstSession.WaitAsync(Limit);
        Assert.Equal(0, sentByClient);
    }

    [Fact]
    public async Task A_server_that_goes_silent_after_the_greeting_hits_the_handshake_timeout()
    {
        long sentByClient = -1;
        await using var server = ScriptedNbdServer.Start(async peer =>
        {
            await peer.SendGreetingAsync();
            sentByClient = await peer.DrainUntilClosedAsync();
        });
        var options = server.ClientOptions() with { HandshakeTimeout = TimeSpan.FromMilliseconds(300) };

        var failure = await Assert.ThrowsAsync<NbdConnectionException>(() => NbdClient.ConnectAsync(options).WaitAsync(Limit));
        Assert.Contains("did not finish within 0.3 s", failure.Message, StringComparison.Ordinal);
        await server.FirstSession.WaitAsync(Limit);

        // Client flags (4) and the NBD_OPT_STRUCTURED_REPLY header (16), then nothing until it gave up.
        Assert.Equal(20, sentByClient);
    }

    [Theory]
    [InlineData(3u, 4096u, 1048576u, "NBD_INFO_BLOCK_SIZE minimum 3 is not a power of two from 1 to 64 KiB")]
    [InlineData(0u, 4096u, 1048576u, "NBD_INFO_BLOCK_SIZE minimum 0 is not a power of two from 1 to 64 KiB")]
    [InlineData(131072u, 131072u, 1048576u, "NBD_INFO_BLOCK_SIZE minimum 131072 is not a power of two from 1 to 64 KiB")]
    [InlineData(512u, 3000u, 1048576u, "NBD_INFO_BLOCK_SIZE preferred 3000 is not a power of two")]
    [InlineData(512u, 4096u, 1000u, "NBD_INFO_BLOCK_SIZE maximum 1000 is not a multiple of the minimum 512")]
    public async Task Illegal_block_size_constraints_are_refused(uint minimum, uint preferred, uint maximum, string expected)
    {
        await using var server = ScriptedNbdServer.StartAfterHandshake(
            peer => peer.WaitForClientCloseAsync(),
            new FakeExport { MinimumBlockSize = minimum, PreferredBlockSize = preferred, MaximumPayloadSize = maximum });

        var failure = await Assert.ThrowsAsync<NbdProtocolException>(() => NbdClient.ConnectAsync(server.ClientOptions()).WaitAsync(Limit));
        Assert.Contains(expected, failure.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task An_option_reply_with_bad_magic_is_refused()
    {
        await using var server = ScriptedNbdServer.Start(async peer =>
        {
            await peer.SendGreetingAsync();
            await peer.ReadClientFlagsAsync();
            await peer.ReadOptionAsync();
            var reply = new byte[20];
            BinaryPrimitives.WriteUInt64BigEndian(reply, 0x1122334455667788);
            BinaryPrimitives.WriteUInt32BigEndian(reply.AsSpan(8), FakeNbdWire.OptStructuredReply);
            BinaryPrimitives.WriteUInt32BigEndian(reply.AsSpan(12), FakeNbdWire.RepAck);
            await peer.SendAsync(reply);
            await peer.DrainUntilClosedAsync();
        });

        var failure = await Assert.ThrowsAsync<NbdProtocolException>(() => NbdClient.ConnectAsync(server.ClientOptions()).WaitAsync(Limit));
        Assert.Contains("Bad option reply magic 0x1122334455667788 in the reply to NBD_OPT_STRUCTURED_REPLY", failure.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_reply_to_an_option_that_was_not_asked_is_refused()
    {
        await using var server = ScriptedNbdServer.Start(async peer =>
        {
            await peer.SendGreetingAsync();
            await peer.ReadClientFlagsAsync();
            await peer.ReadOptionAsync();
            await peer.SendOptionReplyAsync(FakeNbdWire.OptGo, FakeNbdWire.RepAck);
            await peer.DrainUntilClosedAsync();
        });

        var failure = await Assert.ThrowsAsync<NbdProtocolException>(() => NbdClient.ConnectAsync(server.ClientOptions()).WaitAsync(Limit));
        Assert.Contains("The server replied to NBD_OPT_GO while NBD_OPT_STRUCTURED_REPLY was pending", failure.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_meta_context_the_client_did_not_ask_for_is_refused()
    {
        await using var server = ScriptedNbdServer.Start(async peer =>
        {
            await peer.SendGreetingAsync();
            await peer.ReadClientFlagsAsync();
            var (structured, _) = await peer.ReadOptionAsync();
            await peer.SendOptionReplyAsync(structured, FakeNbdWire.RepAck);
            var (meta, _) = await peer.ReadOptionAsync();
            Assert.Equal(FakeNbdWire.OptSetMetaContext, meta);
            var name = Encoding.UTF8.GetBytes("qemu:dirty-bitmap:evil");
            var reply = new byte[4 + name.Length];
            BinaryPrimitives.WriteUInt32BigEndian(reply, 1);
            name.CopyTo(reply, 4);
            await peer.SendOptionReplyAsync(meta, FakeNbdWire.RepMetaContext, reply);
            await peer.DrainUntilClosedAsync();
        });

        var failure = await Assert.ThrowsAsync<NbdProtocolException>(() => NbdClient.ConnectAsync(server.ClientOptions()).WaitAsync(Limit));
        Assert.Contains("The server selected meta context 'qemu:dirty-bitmap:evil', which was not requested", failure.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_server_that_hangs_up_mid_handshake_is_a_lost_connection()
    {
        await using var server = ScriptedNbdServer.Start(async peer =>
        {
            await peer.SendGreetingAsync();
            await peer.ReadClientFlagsAsync();
            await peer.ReadOptionAsync();
            peer.EndOutput();
            await peer.DrainUntilClosedAsync();
        });

        var failure = await Assert.ThrowsAsync<NbdConnectionException>(() => NbdClient.ConnectAsync(server.ClientOptions()).WaitAsync(Limit));
        Assert.Contains("closed the connection during the handshake, while an option reply was expected", failure.Message, StringComparison.Ordinal);
    }
}
