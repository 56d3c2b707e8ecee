using System.Text.Json;
using Whitesky.Nbd.Server;
using Whitesky.Nbd.Tests.Interop;
using Whitesky.Nbd.Tests.Peers;

namespace Whitesky.Nbd.Tests.Server.Interop;

/// <summary>libnbd's nbdinfo against NbdServer, over TCP and a Unix socket, plain and TLS-PSK.</summary>
public class NbdinfoInteropTests
{
    private static readonly TimeSpan Limit = ServerUnderTest.Limit;

    public static TheoryData<bool, bool> Transports => new() { { false, false }, { true, false }, { false, true }, { true, true } };

    [Theory]
    [MemberData(nameof(Transports))]
    public async Task Nbdinfo_json_reports_the_advertised_export_and_map_shows_the_real_allocation(bool unixSocket, bool tls)
    {
        var backend = new ArrayBackend(DiskPattern.Size);
        DiskPattern.Create(seed: 11).CopyTo(backend.Bytes, 0);
        await using var server = await ServerUnderTest.StartAsync(unixSocket, tls, backend,
            configure: o => o with { MaxPayloadSize = 4 << 20 });

        using var json = JsonDocument.Parse(await ExternalTool.RunAsync("nbdinfo", ["--json", server.Uri()]).WaitAsync(Limit));
        var root = json.RootElement;
        Assert.Equal("newstyle-fixed", root.GetProperty("protocol").GetString());
        Assert.Equal(tls, root.GetProperty("TLS").GetBoolean());
        Assert.True(root.GetProperty("structured").GetBoolean());
        var export = Assert.Single(root.GetProperty("exports").EnumerateArray());
        Assert.Equal("disk", export.GetProperty("export-name").GetString());
        Assert.Equal("the test disk", export.GetProperty("description").GetString());
        Assert.Equal(DiskPattern.Size, export.GetProperty("export-size").GetInt64());
        Assert.Contains("base:allocation", export.GetProperty("contexts").EnumerateArray().Select(c => c.GetString()));
        Assert.False(export.GetProperty("is_read_only").GetBoolean());
        Assert.False(export.GetProperty("is_rotational").GetBoolean());
        foreach (var capability in new[] { "can_flush", "can_fua", "can_trim", "can_zero", "can_fast_zero", "can_cache", "can_multi_conn", "can_df" })
        {
            Assert.True(export.GetProperty(capability).GetBoolean(), capability);
        }

        Assert.Equal(1, export.GetProperty("block_size_minimum").GetInt32());
        Assert.Equal(4096, export.GetProperty("block_size_preferred").GetInt32());
        Assert.Equal(4 << 20, export.GetProperty("block_size_maximum").GetInt32());

        var map = await ExtentMap.FromNbdinfoAsync(server.Uri()).WaitAsync(Limit);
        Assert.Equal(DiskPattern.ExpectedMap, map);
        await server.WhenIdleAsync();

        // nbdinfo reads (to guess the content) and asks BLOCK_STATUS; it never changes the disk.
        Assert.DoesNotContain(server.Commands, c => c.Command is NbdCommand.Write or NbdCommand.WriteZeroes or NbdCommand.Trim);
        Assert.True(server.Count(NbdCommand.BlockStatus) >= 1);
        Assert.All(server.Commands, c => Assert.Equal(NbdError.None, c.Error));
    }

    [Theory]
    [MemberData(nameof(Transports))]
    public async Task Nbdinfo_list_shows_every_export_with_its_description_and_size(bool unixSocket, bool tls)
    {
        NbdServerExport[] exports =
        [
            new() { Name = "system", Backend = new ArrayBackend(1 << 20), Description = "the boot disk" },
            new() { Name = "data", Backend = new ArrayBackend(3 << 20), Description = "the data disk", ReadOnly = true },
            new() { Name = "scratch", Backend = new ArrayBackend(2 << 20) },
        ];
        await using var server = await ServerUnderTest.StartAsync(unixSocket, tls, exports);

        using var json = JsonDocument.Parse(await ExternalTool.RunAsync("nbdinfo", ["--list", "--json", server.Uri("")]).WaitAsync(Limit));
        var listed = json.RootElement.GetProperty("exports").EnumerateArray()
            .ToDictionary(e => e.GetProperty("export-name").GetString()!);
        Assert.Equal(["data", "scratch", "system"], listed.Keys.Order(StringComparer.Ordinal));
        Assert.Equal("the boot disk", listed["system"].GetProperty("description").GetString());
        Assert.Equal("the data disk", listed["data"].GetProperty("description").GetString());
        Assert.False(listed["scratch"].TryGetProperty("description", out _));

        // The sizes and flags come from NBD_OPT_INFO on each listed export.
        Assert.Equal(1 << 20, listed["system"].GetProperty("export-size").GetInt64());
        Assert.Equal(3 << 20, listed["data"].GetProperty("export-size").GetInt64());
        Assert.Equal(2 << 20, listed["scratch"].GetProperty("export-size").GetInt64());
        Assert.True(listed["data"].GetProperty("is_read_only").GetBoolean());
        Assert.False(listed["system"].GetProperty("is_read_only").GetBoolean());

        // Listing is negotiation only: no export was opened.
        await server.WhenIdleAsync();
        Assert.Empty(server.Commands);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task Nbdinfo_fails_on_an_export_the_server_does_not_have(bool unixSocket)
    {
        await using var server = await ServerUnderTest.StartAsync(unixSocket, tls: false, new ArrayBackend(1 << 20));

        var (exitCode, _, stderr) = await ExternalTool.TryRunAsync("nbdinfo", [server.Uri("nope")]).WaitAsync(Limit);

        Assert.NotEqual(0, exitCode);
        Assert.Contains("nope", stderr, StringComparison.Ordinal);
        await server.WhenIdleAsync();
        Assert.Empty(server.Commands);
    }
}
