using System.Buffers.Binary;
using Whitesky.Nbd.Protocol;
using Whitesky.Nbd.Tests.Peers;
using Whitesky.Nbd.Tests.Server.Interop;

namespace Whitesky.Nbd.Tests.Server.Hostile;

/// <summary>
/// Requests no proper client sends, written by hand after a normal handshake. Errors the spec lets the
/// server answer are answered, with any payload consumed so the next request is read in step; the
/// rest (a payload the server will not read, a broken header) cost the client its connection and
/// nobody else anything.
/// </summary>
public class TransmissionAbuseTests
{
    private const int Size = 4 << 20;
    private const int MaxPayload = 1 << 20;
    private const uint EPERM = 1;
    private const uint EINVAL = 22;
    private const uint ENOSPC = 28;

    private static readonly TimeSpan Prompt = TimeSpan.FromSeconds(5);

    private static async Task<(ServerUnderTest Server, ArrayBackend Backend, string Hash)> StartAsync(bool readOnly = false)
    {
        var backend = new ArrayBackend(Size);
        TestData.Random(Size, seed: 91).CopyTo(backend.Bytes, 0);
        var server = await ServerUnderTest.StartAsync(unixSocket: false, tls: false, backend, readOnly,
            o => o with { MaxPayloadSize = MaxPayload });
        return (server, backend, TestData.Sha256(backend.Bytes));
    }

    public static TheoryData<string, NbdCommand, ulong, uint, ushort, int, uint> AnsweredWithAnError => new()
    {
        // name, command, offset, length, flags, payload bytes sent, error
        { "READ at the end", NbdCommand.Read, Size, 4096, 0, 0, EINVAL },
        { "READ across the end", NbdCommand.Read, Size - 512, 1024, 0, 0, EINVAL },
        { "READ whose end overflows 64 bits", NbdCommand.Read, ulong.MaxValue - 100, 4096, 0, 0, EINVAL },
        { "READ longer than the maximum payload", NbdCommand.Read, 0, MaxPayload + 1, 0, 0, EINVAL },
        { "READ of 0xFFFFFFFF bytes", NbdCommand.Read, 0, 0xFFFFFFFF, 0, 0, EINVAL },
        { "READ of no bytes", NbdCommand.Read, 0, 0, 0, 0, EINVAL },
        { "READ with an unknown flag", NbdCommand.Read, 0, 4096, 0x8000, 0, EINVAL },
        { "READ with DF but no structured replies", NbdCommand.Read, 0, 4096, (ushort)NbdCommandFlags.DontFragment, 0, EINVAL },
        { "WRITE at the end", NbdCommand.Write, Size, 4096, 0, 4096, ENOSPC },
        { "WRITE across the end", NbdCommand.Write, Size - 4096, 8192, 0, 8192, ENOSPC },
        { "WRITE with the NO_HOLE flag", NbdCommand.Write, 0, 4096, (ushort)NbdCommandFlags.NoHole, 4096, EINVAL },
        { "WRITE_ZEROES past the end", NbdCommand.WriteZeroes, Size - 4096, 8192, 0, 0, ENOSPC },
        { "TRIM with FAST_ZERO", NbdCommand.Trim, 0, 4096, (ushort)NbdCommandFlags.FastZero, 0, EINVAL },
        { "CACHE past the end", NbdCommand.Cache, Size, 4096, 0, 0, EINVAL },
        { "BLOCK_STATUS without structured replies", NbdCommand.BlockStatus, 0, 4096, 0, 0, EINVAL },
        { "RESIZE (not offered)", NbdCommand.Resize, 0, 0, 0, 0, EINVAL },
        { "unknown command 42", (NbdCommand)42, 0, 4096, 0, 0, EINVAL },
    };

    [Theory]
    [MemberData(nameof(AnsweredWithAnError))]
    public async Task A_bad_request_is_answered_with_its_error_and_the_connection_stays_in_step(
        string name, NbdCommand command, ulong offset, uint length, ushort flags, int payloadBytes, uint error)
    {
        var (server, backend, hash) = await StartAsync();
        await using var _ = server;
        await using var raw = await RawNbdClient.ConnectAsync(server.Endpoint);
        await raw.StartAsync();
        await raw.GoAsync("disk");

        // The payload is the bytes of a request header, so a server that did not consume it would read it as the next request.
        var payload = new byte[payloadBytes];
        for (var at = 0; at + NbdWire.RequestHeaderSize <= payloadBytes; at += NbdWire.RequestHeaderSize)
        {
            RawNbdClient.Request(NbdCommand.Write, 666, 0, 0).CopyTo(payload, at);
        }

        await raw.SendRequestAsync(command, 7, offset, length, (NbdCommandFlags)flags, payload);
        var reply = await raw.ReadReplyAsync();
        Assert.False(reply.Structured, name);
        Assert.Equal(7ul, reply.Cookie);
        Assert.Equal(error, reply.Error);

        var data = await raw.ReadAsync(8, 4096, 8192);
        Assert.Equal(TestData.Sha256(backend.Bytes.AsSpan(4096, 8192)), TestData.Sha256(data));
        Assert.Equal(hash, TestData.Sha256(backend.Bytes));
        await server.WhenCommandsAsync(2);
        Assert.Equal(2, server.Commands.Count);
        Assert.Equal(1, server.Count(command, (NbdError)error));
        Assert.Equal(1, server.Count(NbdCommand.Read));
    }

    [Fact]
    public async Task With_structured_replies_a_bad_read_gets_an_error_chunk_and_block_status_needs_a_context()
    {
        var (server, backend, _) = await StartAsync();
        await using var __ = server;
        await using var raw = await RawNbdClient.ConnectAsync(server.Endpoint);
        await raw.StartAsync();
        await raw.GoAsync("disk", structured: true, baseAllocation: false);

        // A READ is never answered with a simple reply once structured replies are on, not even an error.
        await raw.SendRequestAsync(NbdCommand.Read, 1, Size, 4096);
        var readError = await raw.ReadReplyAsync();
        Assert.True(readError.Structured);
        Assert.Equal((1ul, NbdWire.NBD_REPLY_TYPE_ERROR, EINVAL, true), (readError.Cookie, readError.Type, readError.Error, readError.IsDone));

        await raw.SendRequestAsync(NbdCommand.BlockStatus, 2, 0, 4096);
        var statusError = await raw.ReadReplyAsync();
        Assert.Equal((2ul, EINVAL, true), (statusError.Cookie, statusError.Error, statusError.IsDone));

        var data = await raw.ReadAsync(3, 0, 4096);
        Assert.Equal(TestData.Sha256(backend.Bytes.AsSpan(0, 4096)), TestData.Sha256(data));

        // With the context negotiated on another connection, the same BLOCK_STATUS is answered.
        Array.Clear(backend.Bytes, 8192, 8192);
        await using var withContext = await RawNbdClient.ConnectAsync(server.Endpoint);
        await withContext.StartAsync();
        await withContext.GoAsync("disk", structured: true, baseAllocation: true);
        await withContext.SendRequestAsync(NbdCommand.BlockStatus, 4, 0, 32768);
        var status = await withContext.ReadReplyAsync();
        Assert.Equal((4ul, NbdWire.NBD_REPLY_TYPE_BLOCK_STATUS, true), (status.Cookie, status.Type, status.IsDone));
        var descriptors = Enumerable.Range(0, (status.Payload.Length - 4) / 8)
            .Select(i => (BinaryPrimitives.ReadUInt32BigEndian(status.Payload.AsSpan(4 + (8 * i))), BinaryPrimitives.ReadUInt32BigEndian(status.Payload.AsSpan(8 + (8 * i)))))
            .ToList();
        Assert.Equal([(8192u, 0u), (8192u, 3u), (16384u, 0u)], descriptors);
        await server.WhenCommandsAsync(4);
        Assert.Equal(2, server.Count(NbdCommand.BlockStatus, NbdError.EINVAL) + server.Count(NbdCommand.Read, NbdError.EINVAL));
    }

    public static TheoryData<string> Fatal => new()
    {
        "WRITE longer than the maximum payload",
        "WRITE of 0xFFFFFFFF bytes",
        "bad request magic",
        "end of stream inside a request header",
    };

    [Theory]
    [MemberData(nameof(Fatal))]
    public async Task A_request_the_server_cannot_skip_drops_that_connection_and_nobody_else(string violation)
    {
        var (server, backend, hash) = await StartAsync();
        await using var _ = server;
        await using var neighbour = await WellBehavedNeighbour.ConnectAsync(server, backend);
        await using var raw = await RawNbdClient.ConnectAsync(server.Endpoint);
        await raw.StartAsync();
        await raw.GoAsync("disk");

        switch (violation)
        {
            case "WRITE longer than the maximum payload":
                await raw.SendRequestAsync(NbdCommand.Write, 1, 0, MaxPayload + 1, payload: new byte[4096]);
                break;
            case "WRITE of 0xFFFFFFFF bytes":
                await raw.SendRequestAsync(NbdCommand.Write, 1, 0, 0xFFFFFFFF);
                break;
            case "bad request magic":
                await raw.SendAsync(RawNbdClient.Request(NbdCommand.Read, 1, 0, 4096, magic: 0x25609514));
                break;
            case "end of stream inside a request header":
                await raw.SendAsync(RawNbdClient.Request(NbdCommand.Read, 1, 0, 4096).AsMemory(0, 20));
                raw.Close();
                break;
            default:
                throw new ArgumentOutOfRangeException(nameof(violation));
        }

        if (violation != "end of stream inside a request header")
        {
            Assert.Empty(await raw.WaitForServerCloseAsync(Prompt));
        }

        var closed = await server.WhenClosedAsync(c => c.RemoteEndpoint == raw.LocalEndpoint);
        Assert.Equal("disk", closed.Export);
        Assert.IsType<NbdProtocolException>(closed.Error);
        Assert.Equal(hash, TestData.Sha256(backend.Bytes));
        Assert.DoesNotContain(server.Commands, c => c.Command != NbdCommand.Read);
        await neighbour.CheckAsync();
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task A_client_that_vanishes_in_the_middle_of_a_write_payload_changes_nothing(bool reset)
    {
        var (server, backend, hash) = await StartAsync();
        await using var _ = server;
        await using var neighbour = await WellBehavedNeighbour.ConnectAsync(server, backend);
        await using var raw = await RawNbdClient.ConnectAsync(server.Endpoint);
        await raw.StartAsync();
        await raw.GoAsync("disk");

        await raw.SendRequestAsync(NbdCommand.Write, 1, 1 << 20, 65536, payload: TestData.Random(32768, seed: 92));
        if (reset)
        {
            raw.Abort();
        }
        else
        {
            raw.Close();
        }

        var closed = await server.WhenClosedAsync(c => c.RemoteEndpoint == raw.LocalEndpoint);
        Assert.IsAssignableFrom<IOException>(closed.Error);
        Assert.Equal(hash, TestData.Sha256(backend.Bytes));
        Assert.DoesNotContain(server.Commands, c => c.Command == NbdCommand.Write);
        await neighbour.CheckAsync();
    }

    [Fact]
    public async Task Raw_writes_to_a_read_only_export_are_answered_EPERM_with_their_payload_consumed()
    {
        var (server, backend, hash) = await StartAsync(readOnly: true);
        await using var _ = server;
        await using var raw = await RawNbdClient.ConnectAsync(server.Endpoint);
        await raw.StartAsync();
        var (_, flags) = await raw.GoAsync("disk");
        Assert.True(flags.HasFlag(NbdTransmissionFlags.ReadOnly));

        await raw.SendRequestAsync(NbdCommand.Write, 1, 0, 4096, payload: RawNbdClient.Concat(
            RawNbdClient.Request(NbdCommand.Write, 99, 0, 4068), new byte[4068]));
        await raw.SendRequestAsync(NbdCommand.Write, 2, 8192, 4096, NbdCommandFlags.Fua, payload: new byte[4096]);
        await raw.SendRequestAsync(NbdCommand.WriteZeroes, 3, 0, 65536);
        await raw.SendRequestAsync(NbdCommand.Trim, 4, 0, 65536);
        var replies = new List<RawReply>();
        for (var i = 0; i < 4; i++)
        {
            replies.Add(await raw.ReadReplyAsync());
        }

        Assert.Equal([1ul, 2ul, 3ul, 4ul], replies.Select(r => r.Cookie).Order());
        Assert.All(replies, r => Assert.Equal(EPERM, r.Error));

        var data = await raw.ReadAsync(5, 0, 16384);
        Assert.Equal(TestData.Sha256(backend.Bytes.AsSpan(0, 16384)), TestData.Sha256(data));
        Assert.Equal(hash, TestData.Sha256(backend.Bytes));
        await server.WhenCommandsAsync(5);
        Assert.Equal(2, server.Count(NbdCommand.Write, NbdError.EPERM));
        Assert.Equal(1, server.Count(NbdCommand.WriteZeroes, NbdError.EPERM));
        Assert.Equal(1, server.Count(NbdCommand.Trim, NbdError.EPERM));
        Assert.Equal(1, server.Count(NbdCommand.Read));
    }

    [Fact]
    public async Task A_meta_context_chosen_for_another_export_does_not_carry_over()
    {
        var backend = new ArrayBackend(1 << 20);
        await using var server = await ServerUnderTest.StartAsync(unixSocket: true, tls: false,
        [
            new() { Name = "disk", Backend = backend },
            new() { Name = "other", Backend = new ArrayBackend(1 << 20) },
        ]);
        await using var raw = await RawNbdClient.ConnectAsync(server.Endpoint);
        await raw.StartAsync();
        Assert.Equal(NbdWire.NBD_REP_ACK, Assert.Single(await raw.OptionAsync(NbdWire.NBD_OPT_STRUCTURED_REPLY, [])).Type);
        var replies = await raw.OptionAsync(NbdWire.NBD_OPT_SET_META_CONTEXT, RawNbdClient.MetaContextRequest("disk", NbdWire.BaseAllocationContext));
        Assert.Equal([NbdWire.NBD_REP_META_CONTEXT, NbdWire.NBD_REP_ACK], replies.Select(r => r.Type));
        await raw.GoAsync("other");

        await raw.SendRequestAsync(NbdCommand.BlockStatus, 1, 0, 4096);
        var reply = await raw.ReadReplyAsync();
        Assert.Equal((1ul, EINVAL), (reply.Cookie, reply.Error));
        await server.WhenCommandsAsync(1);
        Assert.Equal(1, server.Count(NbdCommand.BlockStatus, NbdError.EINVAL));
    }

    [Fact]
    public async Task A_connection_idle_past_the_idle_timeout_is_closed()
    {
        var backend = new ArrayBackend(1 << 20);
        TestData.Random(1 << 20, seed: 93).CopyTo(backend.Bytes, 0);
        await using var server = await ServerUnderTest.StartAsync(unixSocket: false, tls: false, backend,
            configure: o => o with { IdleTimeout = TimeSpan.FromMilliseconds(300) });
        await using var raw = await RawNbdClient.ConnectAsync(server.Endpoint);
        await raw.StartAsync();
        await raw.GoAsync("disk");
        var data = await raw.ReadAsync(1, 0, 4096);
        Assert.Equal(TestData.Sha256(backend.Bytes.AsSpan(0, 4096)), TestData.Sha256(data));

        Assert.Empty(await raw.WaitForServerCloseAsync(Prompt));
        var closed = await server.WhenClosedAsync(c => c.RemoteEndpoint == raw.LocalEndpoint);
        Assert.Contains("idle", Assert.IsType<NbdProtocolException>(closed.Error).Message, StringComparison.Ordinal);
    }
}
