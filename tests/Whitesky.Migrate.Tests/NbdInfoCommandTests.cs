using System.Text.Json;
using Whitesky.Migrate.Tests.Support;
using Whitesky.Nbd.Tests.Peers;

namespace Whitesky.Migrate.Tests;

/// <summary><c>nbd info</c> against real servers, checked against what the real <c>nbdinfo</c> says about them.</summary>
public sealed class NbdInfoCommandTests
{
    private static readonly string[] FlagNames =
    [
        "is_read_only", "is_rotational", "can_flush", "can_fua", "can_trim", "can_zero", "can_fast_zero", "can_cache", "can_df", "can_multi_conn",
    ];

    [Theory]
    [InlineData("memory", "64M")]
    [InlineData("-r", "sparse-random", "64M", "seed=1")]
    [InlineData("--filter=nozero", "--filter=blocksize-policy", "memory", "32M", "zeromode=none", "blocksize-minimum=512", "blocksize-preferred=65536", "blocksize-maximum=1M")]
    public async Task Info_json_agrees_with_nbdinfo_on_size_flags_and_block_sizes(params string[] nbdkitArguments)
    {
        await using var server = await ServerProcess.StartNbdkitAsync(true, nbdkitArguments);
        var uri = server.Uri();

        var ours = await MigrateCli.RunAsync("nbd", "info", "--json", uri);
        Assert.True(ours.ExitCode == 0, ours.ToString());
        using var oursJson = JsonDocument.Parse(ours.StdOut);
        using var peerJson = JsonDocument.Parse(await ExternalTool.RunAsync("nbdinfo", ["--json", uri]));
        var mine = oursJson.RootElement;
        var peer = peerJson.RootElement.GetProperty("exports")[0];

        Assert.Equal(peer.GetProperty("export-size").GetInt64(), mine.GetProperty("export-size").GetInt64());
        Assert.Equal(peer.GetProperty("export-name").GetString(), mine.GetProperty("export-name").GetString());
        foreach (var flag in FlagNames)
        {
            Assert.True(peer.GetProperty(flag).GetBoolean() == mine.GetProperty(flag).GetBoolean(), $"{flag}: nbdinfo {peer.GetProperty(flag)}, ours {mine.GetProperty(flag)}");
        }

        foreach (var blockSize in new[] { "block_size_minimum", "block_size_preferred", "block_size_maximum" })
        {
            if (peer.TryGetProperty(blockSize, out var expected))
            {
                Assert.True(mine.GetProperty("block_size_advertised").GetBoolean());
                Assert.Equal(expected.GetInt64(), mine.GetProperty(blockSize).GetInt64());
            }
        }

        Assert.Equal(peerJson.RootElement.GetProperty("TLS").GetBoolean(), mine.GetProperty("TLS").GetBoolean());
        Assert.Equal(
            peer.GetProperty("contexts").EnumerateArray().Select(c => c.GetString()).Order(),
            mine.GetProperty("contexts").EnumerateArray().Select(c => c.GetString()).Order());
    }

    [Fact]
    public async Task Info_text_names_size_flags_and_contexts()
    {
        await using var server = await ServerProcess.StartNbdkitAsync(true, "-r", "memory", "64M");

        var result = await MigrateCli.RunAsync("nbd", "info", server.Uri());

        Assert.True(result.ExitCode == 0, result.ToString());
        Assert.Contains("export-size: 67108864 (64M)", result.StdOut, StringComparison.Ordinal);
        Assert.Contains("is_read_only: true", result.StdOut, StringComparison.Ordinal);
        Assert.Contains("can_multi_conn: true", result.StdOut, StringComparison.Ordinal);
        Assert.Contains("\t\tbase:allocation\n", result.StdOut, StringComparison.Ordinal);
        Assert.Contains("without TLS", result.StdOut, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Info_map_equals_nbdinfo_map_on_a_sparse_export()
    {
        await using var server = await ServerProcess.StartNbdkitAsync(true, "-r", "sparse-random", "64M", "seed=1", "percent=10", "runlength=1048576");
        var uri = server.Uri();

        var text = await MigrateCli.RunAsync("nbd", "info", "--map", uri);
        var json = await MigrateCli.RunAsync("nbd", "info", uri, "--map", "--json");
        var peerText = await ExternalTool.RunAsync("nbdinfo", ["--map", uri]);
        var peerJson = await ExternalTool.RunAsync("nbdinfo", ["--map", "--json", uri]);

        Assert.True(text.ExitCode == 0, text.ToString());
        Assert.True(json.ExitCode == 0, json.ToString());
        var expected = ExtentMaps.ParseText(peerText);
        Assert.True(expected.Count > 4, "the sparse export should have several data and hole runs:\n" + peerText);
        Assert.Contains(expected, r => r.Description == "data");
        Assert.Contains(expected, r => r.Description == "hole,zero");
        Assert.Equal(expected, ExtentMaps.ParseText(text.StdOut));
        Assert.Equal(ExtentMaps.ParseJson(peerJson), ExtentMaps.ParseJson(json.StdOut));
        Assert.Equal(peerText, text.StdOut);
    }

    [Fact]
    public async Task Info_map_of_a_qcow2_dirty_bitmap_and_allocation_equals_nbdinfo_map()
    {
        using var dir = new TempDirectory();
        var image = dir.File("disk.qcow2");
        await ExternalTool.RunAsync("qemu-img", ["create", "-q", "-f", "qcow2", image, "64M"]);
        await ExternalTool.RunAsync("qemu-io", ["-f", "qcow2", "-c", "write -P 0x55 1M 2M", image]);
        await ExternalTool.RunAsync("qemu-img", ["bitmap", "--add", image, "b0"]);
        await ExternalTool.RunAsync("qemu-io", ["-f", "qcow2", "-c", "write -P 0x66 8M 1M", "-c", "write -z 20M 3M", "-c", "write -P 0x77 40M 64k", image]);
        await using var server = await ServerProcess.StartQemuNbdAsync(image, "qcow2", "--read-only", "--bitmap=b0");
        var uri = server.Uri();

        foreach (var context in new[] { "qemu:dirty-bitmap:b0", "base:allocation" })
        {
            var ours = await MigrateCli.RunAsync("nbd", "info", "--map=" + context, uri);
            var peer = await ExternalTool.RunAsync("nbdinfo", ["--map=" + context, uri]);

            Assert.True(ours.ExitCode == 0, ours.ToString());
            Assert.Equal(ExtentMaps.ParseText(peer), ExtentMaps.ParseText(ours.StdOut));
        }

        var dirty = ExtentMaps.ParseText((await MigrateCli.RunAsync("nbd", "info", "--map=qemu:dirty-bitmap:b0", uri)).StdOut);
        Assert.Contains(new ExtentMaps.Run(8 << 20, 1 << 20, 1, "dirty"), dirty);
        Assert.Equal("clean", dirty[0].Description);
    }

    [Fact]
    public async Task Info_map_of_a_context_the_server_does_not_offer_fails_with_exit_code_1()
    {
        await using var server = await ServerProcess.StartNbdkitAsync(true, "memory", "1M");

        var result = await MigrateCli.RunAsync("nbd", "info", "--map=qemu:dirty-bitmap:nope", server.Uri());

        Assert.Equal(1, result.ExitCode);
        Assert.Contains("does not offer meta context 'qemu:dirty-bitmap:nope'", result.StdErr, StringComparison.Ordinal);
        Assert.Empty(result.StdOut);
    }

    [Fact]
    public async Task Info_of_a_server_that_is_not_there_fails_with_its_message_and_no_stack_trace()
    {
        using var dir = new TempDirectory();

        var result = await MigrateCli.RunAsync("nbd", "info", "nbd+unix:///?socket=" + dir.File("nobody.sock"));

        Assert.Equal(1, result.ExitCode);
        Assert.StartsWith("whitesky-migrate: ", result.StdErr, StringComparison.Ordinal);
        Assert.Contains("nobody.sock", result.StdErr, StringComparison.Ordinal);
        Assert.DoesNotContain("   at ", result.StdErr, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Info_with_verbose_prints_the_stack_trace_of_a_failure()
    {
        using var dir = new TempDirectory();

        var result = await MigrateCli.RunAsync("nbd", "info", "--verbose", "nbd+unix:///?socket=" + dir.File("nobody.sock"));

        Assert.Equal(1, result.ExitCode);
        Assert.Contains("   at ", result.StdErr, StringComparison.Ordinal);
    }
}
