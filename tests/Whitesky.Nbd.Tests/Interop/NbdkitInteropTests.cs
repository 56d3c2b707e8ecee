using System.Globalization;
using Whitesky.Nbd.Tests.Peers;

namespace Whitesky.Nbd.Tests.Interop;

/// <summary>The client against nbdkit, cross-checked with nbdcopy and nbdinfo.</summary>
public class NbdkitInteropTests
{
    private static readonly TimeSpan Limit = TimeSpan.FromSeconds(60);

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task Writes_read_back_byte_for_byte_over_unix_socket_and_tcp(bool unixSocket)
    {
        await using var server = await ServerProcess.StartNbdkitAsync(unixSocket, "memory", "64M");
        await using var client = await NbdClient.ConnectAsync(server.Options());

        Assert.Equal(64L << 20, client.Export.Size);
        Assert.True(client.Export.StructuredReplies);
        Assert.Contains(NbdMetaContexts.BaseAllocation, client.Export.MetaContexts);

        var first = TestData.Random(1 << 20, seed: 1);
        var second = TestData.Random(12345 * 512 / 512 * 3, seed: 2);
        try { await client.WriteAsync(0, first); } catch (Exception e) { await Task.Delay(100); throw new Exception(server.StdErr, e); }
        await Task.WhenAll(
            client.WriteAsync(0, first).AsTask(),
            client.WriteAsync(40L << 20, second).AsTask()).WaitAsync(Limit);

        var readFirst = new byte[first.Length];
        var readSecond = new byte[second.Length];
        var untouched = new byte[4096];
        await Task.WhenAll(
            client.ReadAsync(0, readFirst).AsTask(),
            client.ReadAsync(40L << 20, readSecond).AsTask(),
            client.ReadAsync(20L << 20, untouched).AsTask()).WaitAsync(Limit);

        Assert.Equal(TestData.Sha256(first), TestData.Sha256(readFirst));
        Assert.Equal(TestData.Sha256(second), TestData.Sha256(readSecond));
        Assert.All(untouched, b => Assert.Equal(0, b));
    }

    [Fact]
    public async Task What_the_client_writes_nbdcopy_reads_back()
    {
        using var dir = new TempDirectory();
        await using var server = await ServerProcess.StartNbdkitAsync(true, "memory", "32M");
        var expected = new byte[32 << 20];
        await using (var client = await NbdClient.ConnectAsync(server.Options()))
        {
            var writes = new List<Task>();
            for (var i = 0; i < 32; i += 3)
            {
                var chunk = TestData.Random(1 << 20, seed: 100 + i);
                chunk.CopyTo(expected, (long)i << 20);
                writes.Add(client.WriteAsync((long)i << 20, chunk).AsTask());
            }

            await Task.WhenAll(writes).WaitAsync(Limit);
            await client.FlushAsync();
        }

        var output = dir.File("out.raw");
        await ExternalTool.RunAsync("nbdcopy", [server.Uri(), output]);
        Assert.Equal(TestData.Sha256(expected), await TestData.Sha256FileAsync(output));
    }

    [Fact]
    public async Task What_nbdcopy_writes_the_client_reads_back()
    {
        using var dir = new TempDirectory();
        var source = dir.File("in.raw");
        var content = TestData.Random(8 << 20, seed: 7);
        Array.Clear(content, 2 << 20, 3 << 20);
        await File.WriteAllBytesAsync(source, content);

        await using var server = await ServerProcess.StartNbdkitAsync(false, "memory", "8M");
        await ExternalTool.RunAsync("nbdcopy", [source, server.Uri()]);

        await using var client = await NbdClient.ConnectAsync(server.Options());
        var read = new byte[content.Length];
        await client.ReadAsync(0, read).AsTask().WaitAsync(Limit);
        Assert.Equal(TestData.Sha256(content), TestData.Sha256(read));
    }

    [Fact]
    public async Task Block_status_map_equals_nbdinfo_map_on_a_sparse_export()
    {
        await using var server = await ServerProcess.StartNbdkitAsync(true, "-r", "sparse-random", "64M", "seed=4", "percent=10", "runlength=65536");
        await using var client = await NbdClient.ConnectAsync(server.Options());

        var ours = await ExtentMap.FromClientAsync(client, NbdMetaContexts.BaseAllocation).WaitAsync(Limit);
        var theirs = await ExtentMap.FromNbdinfoAsync(server.Uri());

        Assert.True(ours.Count > 10, $"the sparse export should have many extents, got {ours.Count}");
        Assert.Contains(ours, e => e.Flags == 0);
        Assert.Contains(ours, e => e.Flags == (NbdExtent.HoleFlag | NbdExtent.ZeroFlag));
        Assert.Equal(theirs, ours);
    }

    [Fact]
    public async Task Block_status_over_an_export_larger_than_4_GiB_maps_it_whole()
    {
        // One BLOCK_STATUS for the whole export would ask nbdkit 1.32 about ~4 GiB at once, which aborts it.
        await using var server = await ServerProcess.StartNbdkitAsync(true, "-r", "sparse-random", "6G", "seed=3", "percent=1", "runlength=1048576");
        await using var client = await NbdClient.ConnectAsync(server.Options());

        var first = await client.BlockStatusAsync(0, client.Export.Size);
        Assert.True(first[NbdMetaContexts.BaseAllocation][^1].End <= 1L << 31, "one request asks about 2 GiB at most");

        var ours = await ExtentMap.FromClientAsync(client, NbdMetaContexts.BaseAllocation).WaitAsync(Limit);
        Assert.Equal(6L << 30, ours[^1].Offset + ours[^1].Length);
        Assert.Equal(await ExtentMap.FromNbdinfoAsync(server.Uri()), ours);
        Assert.False(server.HasExited);
    }

    [Fact]
    public async Task Sparse_reads_return_the_data_sparse_random_serves()
    {
        using var dir = new TempDirectory();
        await using var server = await ServerProcess.StartNbdkitAsync(true, "-r", "sparse-random", "16M", "seed=9", "percent=30", "runlength=65536");
        var copy = dir.File("copy.raw");
        await ExternalTool.RunAsync("nbdcopy", [server.Uri(), copy]);

        await using var client = await NbdClient.ConnectAsync(server.Options());
        var read = new byte[16 << 20];
        await client.ReadAsync(0, read).AsTask().WaitAsync(Limit);
        Assert.Equal(await TestData.Sha256FileAsync(copy), TestData.Sha256(read));
        Assert.Contains(read, b => b != 0);
    }

    [Fact]
    public async Task Write_zeroes_trim_cache_fua_and_flush_behave_as_nbdkit_memory_says()
    {
        await using var server = await ServerProcess.StartNbdkitAsync(true, "memory", "16M");
        await using var client = await NbdClient.ConnectAsync(server.Options());
        Assert.True(client.Export.CanWriteZeroes && client.Export.CanTrim && client.Export.CanFua && client.Export.CanFlush);

        var data = TestData.Random(4 << 20, seed: 11);
        await client.WriteAsync(0, data, NbdCommandFlags.Fua);

        await client.WriteZeroesAsync(0, 1 << 20, NbdCommandFlags.NoHole);
        await client.TrimAsync(1 << 20, 1 << 20);
        if (client.Export.CanFastZero)
        {
            await client.WriteZeroesAsync(2 << 20, 1 << 20, NbdCommandFlags.FastZero);
        }
        else
        {
            await client.WriteZeroesAsync(2 << 20, 1 << 20);
        }

        if (client.Export.CanCache)
        {
            await client.CacheAsync(0, 4 << 20);
        }

        await client.FlushAsync();

        var read = new byte[4 << 20];
        await client.ReadAsync(0, read);
        Assert.All(read.AsSpan(0, 1 << 20).ToArray(), b => Assert.Equal(0, b));
        Assert.All(read.AsSpan(2 << 20, 1 << 20).ToArray(), b => Assert.Equal(0, b));
        Assert.Equal(TestData.Sha256(data.AsSpan(3 << 20, 1 << 20)), TestData.Sha256(read.AsSpan(3 << 20, 1 << 20)));

        // After TRIM, nbdkit memory may return zeroes or keep data; the spec allows either, but the map must agree with the bytes.
        var trimmed = read.AsSpan(1 << 20, 1 << 20).ToArray();
        var status = await client.BlockStatusAsync(1 << 20, 1 << 20);
        var first = status[NbdMetaContexts.BaseAllocation][0];
        if (first.IsZero)
        {
            Assert.All(trimmed.AsSpan(0, (int)Math.Min(first.Length, 1 << 20)).ToArray(), b => Assert.Equal(0, b));
        }

        var map = await ExtentMap.FromClientAsync(client, NbdMetaContexts.BaseAllocation);
        Assert.Equal(await ExtentMap.FromNbdinfoAsync(server.Uri()), map);
    }

    [Fact]
    public async Task Requests_larger_than_the_maximum_payload_are_split_on_the_wire()
    {
        using var dir = new TempDirectory();
        var log = dir.File("nbdkit.log");
        await using var server = await ServerProcess.StartNbdkitAsync(true,
            "--filter=log", "--filter=blocksize-policy", "memory", "8M",
            "blocksize-minimum=512", "blocksize-preferred=4096", "blocksize-maximum=65536", "logfile=" + log);
        await using var client = await NbdClient.ConnectAsync(server.Options());
        Assert.True(client.Export.BlockSizeAdvertised);
        Assert.Equal(512, client.Export.MinimumBlockSize);
        Assert.Equal(65536, client.Export.MaximumPayloadSize);

        var data = TestData.Random(1 << 20, seed: 5);
        await client.WriteAsync(1 << 20, data).AsTask().WaitAsync(Limit);
        var read = new byte[data.Length];
        await client.ReadAsync(1 << 20, read).AsTask().WaitAsync(Limit);
        Assert.Equal(TestData.Sha256(data), TestData.Sha256(read));

        var lines = await File.ReadAllLinesAsync(log);
        var writes = lines.Where(l => l.Contains(" Write ", StringComparison.Ordinal) && l.Contains("...", StringComparison.Ordinal)).ToList();
        var reads = lines.Where(l => l.Contains(" Read ", StringComparison.Ordinal) && l.Contains("...", StringComparison.Ordinal)).ToList();
        Assert.Equal(16, writes.Count);
        Assert.Equal(16, reads.Count);
        Assert.All(writes, l => Assert.Contains("count=0x10000", l, StringComparison.Ordinal));

        await Assert.ThrowsAsync<ArgumentException>(() => client.ReadAsync(100, new byte[512]).AsTask());
    }

    [Fact]
    public async Task Multi_conn_spreads_requests_over_connections_and_flush_covers_them_all()
    {
        using var dir = new TempDirectory();
        var log = dir.File("nbdkit.log");
        await using var server = await ServerProcess.StartNbdkitAsync(true, "--filter=log", "memory", "32M", "logfile=" + log);
        var expected = new byte[32 << 20];
        await using (var client = await NbdClient.ConnectAsync(server.Options() with { Connections = 4 }))
        {
            Assert.True(client.Export.CanMultiConn);
            Assert.Equal(4, client.ConnectionCount);
            var writes = new List<Task>();
            for (var i = 0; i < 64; i++)
            {
                var chunk = TestData.Random(256 << 10, seed: 1000 + i);
                chunk.CopyTo(expected, (long)i * 2 * (256 << 10));
                writes.Add(client.WriteAsync((long)i * 2 * (256 << 10), chunk).AsTask());
            }

            await Task.WhenAll(writes).WaitAsync(Limit);
            await client.FlushAsync();
        }

        var output = dir.File("out.raw");
        await ExternalTool.RunAsync("nbdcopy", [server.Uri(), output]);
        Assert.Equal(TestData.Sha256(expected), await TestData.Sha256FileAsync(output));

        var lines = await File.ReadAllLinesAsync(log);
        var connectionsUsed = lines
            .Where(l => l.Contains(" Write ", StringComparison.Ordinal) && l.Contains("...", StringComparison.Ordinal))
            .Select(l => l.Split(' ').First(p => p.StartsWith("connection=", StringComparison.Ordinal)))
            .Distinct()
            .Count();
        Assert.True(connectionsUsed >= 2, $"writes used {connectionsUsed} connection(s)");
        Assert.Equal(1, lines.Count(l => l.Contains(" Flush ", StringComparison.Ordinal) && l.Contains("...", StringComparison.Ordinal)));
    }

    [Fact]
    public async Task Export_list_and_info_match_what_the_server_serves()
    {
        await using var server = await ServerProcess.StartNbdkitAsync(true, "--filter=exportname", "memory", "4M",
            "exportname=alpha", "exportname=beta", "exportname-list=explicit", "exportdesc=fixed:a test disk");
        var exports = await NbdClient.ListExportsAsync(server.Options());
        Assert.Equal(["alpha", "beta"], exports.Select(e => e.Name).Order(StringComparer.Ordinal));

        var info = await NbdClient.GetExportInfoAsync(server.Options("alpha"));
        Assert.Equal(4L << 20, info.Size);
        Assert.Equal("alpha", info.Name);
        Assert.Equal("a test disk", info.Description);
        Assert.Contains(NbdMetaContexts.BaseAllocation, info.MetaContexts);

        var contexts = await NbdClient.ListMetaContextsAsync(server.Options("alpha"));
        Assert.Contains(NbdMetaContexts.BaseAllocation, contexts);
    }

    [Fact]
    public async Task Export_info_agrees_with_nbdinfo_json()
    {
        await using var server = await ServerProcess.StartNbdkitAsync(false, "memory", "12M");
        var json = System.Text.Json.JsonDocument.Parse(await ExternalTool.RunAsync("nbdinfo", ["--json", server.Uri()]));
        var export = json.RootElement.GetProperty("exports")[0];

        await using var client = await NbdClient.ConnectAsync(server.Options());
        Assert.Equal(export.GetProperty("export-size").GetInt64(), client.Export.Size);
        Assert.Equal(export.GetProperty("is_read_only").GetBoolean(), client.Export.IsReadOnly);
        Assert.Equal(export.GetProperty("can_flush").GetBoolean(), client.Export.CanFlush);
        Assert.Equal(export.GetProperty("can_fua").GetBoolean(), client.Export.CanFua);
        Assert.Equal(export.GetProperty("can_trim").GetBoolean(), client.Export.CanTrim);
        Assert.Equal(export.GetProperty("can_zero").GetBoolean(), client.Export.CanWriteZeroes);
        Assert.Equal(export.GetProperty("can_fast_zero").GetBoolean(), client.Export.CanFastZero);
        Assert.Equal(export.GetProperty("can_cache").GetBoolean(), client.Export.CanCache);
        Assert.Equal(export.GetProperty("can_multi_conn").GetBoolean(), client.Export.CanMultiConn);
        Assert.Equal(export.GetProperty("can_df").GetBoolean(), client.Export.CanDontFragment);
        Assert.Equal(export.GetProperty("is_rotational").GetBoolean(), client.Export.IsRotational);
    }

    [Fact]
    public async Task Read_only_export_refuses_writes_before_sending()
    {
        await using var server = await ServerProcess.StartNbdkitAsync(true, "-r", "memory", "1M");
        await using var client = await NbdClient.ConnectAsync(server.Options());
        Assert.True(client.Export.IsReadOnly);
        var ex = await Assert.ThrowsAsync<NotSupportedException>(() => client.WriteAsync(0, new byte[512]).AsTask());
        Assert.Contains("read-only", ex.Message, StringComparison.Ordinal);
        var outside = await Assert.ThrowsAsync<ArgumentOutOfRangeException>(() => client.ReadAsync(1 << 20, new byte[1]).AsTask());
        Assert.Contains(string.Create(CultureInfo.InvariantCulture, $"{1 << 20}"), outside.Message, StringComparison.Ordinal);
    }
}
