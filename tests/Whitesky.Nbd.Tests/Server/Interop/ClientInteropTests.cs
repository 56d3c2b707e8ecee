using Whitesky.Nbd.Server;
using Whitesky.Nbd.Tests.Interop;
using Whitesky.Nbd.Tests.Peers;

namespace Whitesky.Nbd.Tests.Server.Interop;

/// <summary>The SDK's own NbdClient against NbdServer: multi-conn, block status, every command and its flags, export negotiation and limits.</summary>
public class ClientInteropTests
{
    private static readonly TimeSpan Limit = ServerUnderTest.Limit;

    public static TheoryData<bool, bool> Transports => NbdinfoInteropTests.Transports;

    [Theory]
    [MemberData(nameof(Transports))]
    public async Task Four_connections_share_the_writes_and_one_flush_covers_them_all(bool unixSocket, bool tls)
    {
        const int chunk = 1 << 20;
        var backend = new RecordingBackend(new ArrayBackend(32 * chunk));
        await using var server = await ServerUnderTest.StartAsync(unixSocket, tls, backend);
        var expected = TestData.Random(32 * chunk, seed: 41);

        await using (var client = await NbdClient.ConnectAsync(server.ClientOptions() with { Connections = 4 }).WaitAsync(Limit))
        {
            Assert.True(client.Export.CanMultiConn);
            Assert.Equal(4, client.ConnectionCount);
            var writes = Enumerable.Range(0, 32)
                .Select(i => client.WriteAsync((long)i * chunk, expected.AsMemory(i * chunk, chunk)).AsTask())
                .ToList();
            await Task.WhenAll(writes).WaitAsync(Limit);
            await client.FlushAsync().AsTask().WaitAsync(Limit);
        }

        Assert.Equal(TestData.Sha256(expected), TestData.Sha256(backend.Inner.Bytes));
        Assert.Equal(1, backend.Inner.Flushes);
        await server.WhenIdleAsync();
        Assert.Equal(32, server.Count(NbdCommand.Write));
        Assert.Equal(1, server.Count(NbdCommand.Flush));
        Assert.Equal(33, server.Commands.Count);

        // Every connection carried writes, and the one FLUSH reached the backend after every write had.
        Assert.Equal(4, server.Commands.Where(c => c.Command == NbdCommand.Write).Select(c => c.ConnectionId).Distinct().Count());
        Assert.Equal([.. Enumerable.Repeat("write", 32), "flush"], backend.Calls.Select(c => c.Operation));
        Assert.Equal(4, server.Opened.Count);
    }

    [Theory]
    [MemberData(nameof(Transports))]
    public async Task Block_status_through_the_client_equals_nbdinfo_map_and_the_real_allocation(bool unixSocket, bool tls)
    {
        var backend = new ArrayBackend(DiskPattern.Size);
        DiskPattern.Create(seed: 42).CopyTo(backend.Bytes, 0);
        await using var server = await ServerUnderTest.StartAsync(unixSocket, tls, backend);
        await using var client = await server.ConnectAsync();

        Assert.Equal([NbdMetaContexts.BaseAllocation], client.Export.MetaContexts);
        var map = await ExtentMap.FromClientAsync(client, NbdMetaContexts.BaseAllocation).WaitAsync(Limit);
        Assert.Equal(DiskPattern.ExpectedMap, map);
        Assert.Equal(await ExtentMap.FromNbdinfoAsync(server.Uri()).WaitAsync(Limit), map);

        // REQ_ONE: one extent, the first of the map, starting where asked.
        var one = await client.BlockStatusAsync(1 << 20, DiskPattern.Size - (1 << 20), NbdCommandFlags.RequestOne).AsTask().WaitAsync(Limit);
        var extent = Assert.Single(one[NbdMetaContexts.BaseAllocation]);
        Assert.Equal((1L << 20, 2L << 20, 3u), (extent.Offset, extent.Length, extent.Flags));

        // A range inside one data run, not aligned to the backend's blocks, is reported exactly.
        var inside = await client.BlockStatusAsync(100, 1000).AsTask().WaitAsync(Limit);
        var data = Assert.Single(inside[NbdMetaContexts.BaseAllocation]);
        Assert.Equal((100L, 1000L, 0u), (data.Offset, data.Length, data.Flags));
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task Write_zeroes_trim_cache_and_fua_reach_the_backend_with_their_flags(bool unixSocket)
    {
        var backend = new RecordingBackend(new ArrayBackend(4 << 20));
        var original = TestData.Random(4 << 20, seed: 43);
        original.CopyTo(backend.Inner.Bytes, 0);
        await using var server = await ServerUnderTest.StartAsync(unixSocket, tls: false, backend);
        await using var client = await server.ConnectAsync();
        Assert.True(client.Export.CanWriteZeroes && client.Export.CanFastZero && client.Export.CanTrim && client.Export.CanCache && client.Export.CanFua);

        var fuaData = TestData.Random(8192, seed: 44);
        await client.WriteZeroesAsync(0, 65536, NbdCommandFlags.NoHole).AsTask().WaitAsync(Limit);
        await client.WriteZeroesAsync(65536, 65536, NbdCommandFlags.FastZero).AsTask().WaitAsync(Limit);
        await client.WriteZeroesAsync(131072, 4096, NbdCommandFlags.NoHole | NbdCommandFlags.FastZero | NbdCommandFlags.Fua).AsTask().WaitAsync(Limit);
        await client.WriteZeroesAsync(200000, 1000).AsTask().WaitAsync(Limit);
        await client.TrimAsync(1 << 20, 1 << 20, NbdCommandFlags.Fua).AsTask().WaitAsync(Limit);
        await client.CacheAsync(2 << 20, 1 << 20).AsTask().WaitAsync(Limit);
        await client.WriteAsync(3 << 20, fuaData, NbdCommandFlags.Fua).AsTask().WaitAsync(Limit);
        await client.FlushAsync().AsTask().WaitAsync(Limit);

        BackendCall[] expectedCalls =
        [
            new("zero", 0, 65536, Fua: false, MayPunchHole: false, FastOnly: false),
            new("zero", 65536, 65536, Fua: false, MayPunchHole: true, FastOnly: true),
            new("zero", 131072, 4096, Fua: true, MayPunchHole: false, FastOnly: true),
            new("zero", 200000, 1000, Fua: false, MayPunchHole: true, FastOnly: false),
            new("trim", 1 << 20, 1 << 20, Fua: true),
            new("cache", 2 << 20, 1 << 20),
            new("write", 3 << 20, 8192, Fua: true),
            new("flush", 0, 0),
        ];
        Assert.Equal(expectedCalls, backend.Calls);
        await server.WhenCommandsAsync(8);
        Assert.Equal(4, server.Count(NbdCommand.WriteZeroes));
        Assert.Equal(1, server.Count(NbdCommand.Trim));
        Assert.Equal(1, server.Count(NbdCommand.Cache));
        Assert.Equal(1, server.Count(NbdCommand.Write));
        Assert.Equal(1, server.Count(NbdCommand.Flush));
        Assert.Equal(8, server.Commands.Count);

        var expected = original.ToArray();
        Array.Clear(expected, 0, 131072 + 4096);
        Array.Clear(expected, 200000, 1000);
        Array.Clear(expected, 1 << 20, 1 << 20); // the test backend zeroes what it trims
        fuaData.CopyTo(expected, 3 << 20);
        var read = new byte[4 << 20];
        await client.ReadAsync(0, read).AsTask().WaitAsync(Limit);
        Assert.Equal(TestData.Sha256(expected), TestData.Sha256(read));
        Assert.Equal(TestData.Sha256(expected), TestData.Sha256(backend.Inner.Bytes));
    }

    [Fact]
    public async Task Fast_zero_on_a_backend_that_cannot_zero_quickly_is_answered_ENOTSUP_and_changes_nothing()
    {
        var backend = new RecordingBackend(new ArrayBackend(1 << 20)) { SlowZeroes = true };
        TestData.Random(1 << 20, seed: 45).CopyTo(backend.Inner.Bytes, 0);
        var before = TestData.Sha256(backend.Inner.Bytes);
        await using var server = await ServerUnderTest.StartAsync(unixSocket: true, tls: false, backend);
        await using var client = await server.ConnectAsync();

        var refused = await Assert.ThrowsAsync<NbdException>(() => client.WriteZeroesAsync(0, 65536, NbdCommandFlags.FastZero).AsTask().WaitAsync(Limit));
        Assert.Equal(NbdError.ENOTSUP, refused.Error);
        Assert.Equal(NbdCommand.WriteZeroes, refused.Command);

        // The connection is fine, and the same request without FAST_ZERO does the slow work.
        Assert.Equal(before, TestData.Sha256(backend.Inner.Bytes));
        await client.WriteZeroesAsync(0, 65536).AsTask().WaitAsync(Limit);
        await server.WhenCommandsAsync(2);
        Assert.Equal(1, server.Count(NbdCommand.WriteZeroes, NbdError.ENOTSUP));
        Assert.Equal(1, server.Count(NbdCommand.WriteZeroes));
        Assert.False(backend.Inner.Bytes.AsSpan(0, 65536).ContainsAnyExcept((byte)0));
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task Info_and_list_describe_the_exports_and_an_unknown_export_is_refused_with_ERR_UNKNOWN(bool tls)
    {
        NbdServerExport[] exports =
        [
            new() { Name = "disk", Backend = new ArrayBackend(3 << 20), Description = "the test disk" },
            new() { Name = "iso", Backend = new ArrayBackend(1 << 20), Description = "installer", ReadOnly = true },
        ];
        await using var server = await ServerUnderTest.StartAsync(unixSocket: false, tls, exports,
            o => o with { MaxPayloadSize = 1 << 20 });

        var listed = await NbdClient.ListExportsAsync(server.ClientOptions("")).WaitAsync(Limit);
        Assert.Equal([new NbdExportListing("disk", "the test disk"), new NbdExportListing("iso", "installer")], listed);

        var info = await NbdClient.GetExportInfoAsync(server.ClientOptions("iso")).WaitAsync(Limit);
        Assert.Equal(1 << 20, info.Size);
        Assert.True(info.IsReadOnly);
        Assert.True(info.BlockSizeAdvertised);
        Assert.Equal((1, 4096, 1 << 20), (info.MinimumBlockSize, info.PreferredBlockSize, info.MaximumPayloadSize));
        Assert.Equal([NbdMetaContexts.BaseAllocation], info.MetaContexts);
        Assert.Equal(tls ? "TLS-PSK" : null, info.Tls);

        Assert.Equal([NbdMetaContexts.BaseAllocation], await NbdClient.ListMetaContextsAsync(server.ClientOptions("disk")).WaitAsync(Limit));
        Assert.Equal([NbdMetaContexts.BaseAllocation], await NbdClient.ListMetaContextsAsync(server.ClientOptions("disk"), ["base:"]).WaitAsync(Limit));
        Assert.Empty(await NbdClient.ListMetaContextsAsync(server.ClientOptions("disk"), ["qemu:"]).WaitAsync(Limit));

        var go = await Assert.ThrowsAsync<NbdOptionException>(() => server.ConnectAsync("nope"));
        Assert.Equal("NBD_REP_ERR_UNKNOWN", go.ReplyName);
        var infoUnknown = await Assert.ThrowsAsync<NbdOptionException>(() => NbdClient.GetExportInfoAsync(server.ClientOptions("nope")).WaitAsync(Limit));
        Assert.Equal("NBD_REP_ERR_UNKNOWN", infoUnknown.ReplyName);

        // None of that opened an export.
        await server.WhenIdleAsync();
        Assert.Empty(server.Commands);
        Assert.All(server.Closed, c => Assert.Null(c.Export));
    }

    [Fact]
    public async Task Max_connections_is_enforced_per_export_and_a_freed_slot_can_be_taken_again()
    {
        NbdServerExport[] exports =
        [
            new() { Name = "limited", Backend = new ArrayBackend(1 << 20), MaxConnections = 2 },
            new() { Name = "other", Backend = new ArrayBackend(1 << 20), MaxConnections = 1 },
        ];
        await using var server = await ServerUnderTest.StartAsync(unixSocket: false, tls: false, exports);

        var first = await server.ConnectAsync("limited");
        await using var second = await server.ConnectAsync("limited");
        var refused = await Assert.ThrowsAsync<NbdOptionException>(() => server.ConnectAsync("limited"));
        Assert.Equal("NBD_REP_ERR_POLICY", refused.ReplyName);

        // The limit is per export: the other export still takes its one client, and then refuses a second.
        await using var other = await server.ConnectAsync("other");
        var otherRefused = await Assert.ThrowsAsync<NbdOptionException>(() => server.ConnectAsync("other"));
        Assert.Equal("NBD_REP_ERR_POLICY", otherRefused.ReplyName);

        // NBD_OPT_INFO opens nothing, so a full export can still be described.
        Assert.Equal(1 << 20, (await NbdClient.GetExportInfoAsync(server.ClientOptions("other")).WaitAsync(Limit)).Size);

        // Once a client of "limited" has gone (and the server says so), its slot is free again.
        await first.DisposeAsync().AsTask().WaitAsync(Limit);
        await server.WhenClosedAsync(c => c.Export == "limited");
        await using var third = await server.ConnectAsync("limited");
        var buffer = new byte[4096];
        await third.ReadAsync(0, buffer).AsTask().WaitAsync(Limit);
        await second.ReadAsync(0, buffer).AsTask().WaitAsync(Limit);
        await server.WhenCommandsAsync(2);
        Assert.Equal(2, server.Count(NbdCommand.Read));

        var stillFull = await Assert.ThrowsAsync<NbdOptionException>(() => server.ConnectAsync("limited"));
        Assert.Equal("NBD_REP_ERR_POLICY", stillFull.ReplyName);
    }
}
