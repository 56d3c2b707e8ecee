using System.Text.Json;
using Whitesky.Migrate.Tests.Support;
using Whitesky.Nbd.Tests.Peers;

namespace Whitesky.Migrate.Tests;

/// <summary>Both commands against nbdkit requiring TLS with a pre-shared key (GnuTLS), URIs as libnbd writes them.</summary>
public sealed class TlsPskTests
{
    private const string Identity = "alice";

    [Fact]
    public async Task Info_over_tls_psk_reports_tls_and_agrees_with_nbdinfo()
    {
        using var dir = new TempDirectory();
        var psk = TestData.WritePskFile(dir, Identity, TestData.Random(32, seed: 7));
        await using var server = await ServerProcess.StartNbdkitAsync(false, "--tls=require", "--tls-psk=" + psk, "memory", "32M");
        var uri = server.Uri(pskFile: psk, identity: Identity);

        var ours = await MigrateCli.RunAsync("nbd", "info", "--json", uri);

        Assert.True(ours.ExitCode == 0, ours.ToString());
        using var mine = JsonDocument.Parse(ours.StdOut);
        using var peer = JsonDocument.Parse(await ExternalTool.RunAsync("nbdinfo", ["--json", uri]));
        Assert.True(mine.RootElement.GetProperty("TLS").GetBoolean());
        Assert.Equal("TLS-PSK", mine.RootElement.GetProperty("tls-method").GetString());
        Assert.True(peer.RootElement.GetProperty("TLS").GetBoolean());
        Assert.Equal(peer.RootElement.GetProperty("exports")[0].GetProperty("export-size").GetInt64(), mine.RootElement.GetProperty("export-size").GetInt64());
    }

    [Fact]
    public async Task Copy_over_tls_psk_makes_an_identical_image()
    {
        using var dir = new TempDirectory();
        var psk = TestData.WritePskFile(dir, Identity, TestData.Random(32, seed: 8));
        var source = dir.File("source.raw");
        SparseImage.Create(source, 32L << 20, [(0, 3 << 20), (9L << 20, 1 << 20), ((31L << 20) + 4096, 8192)], seed: 9);
        await using var server = await ServerProcess.StartNbdkitAsync(false, "--tls=require", "--tls-psk=" + psk, "memory", "32M");
        var uri = server.Uri(pskFile: psk, identity: Identity);

        var result = await MigrateCli.RunAsync("nbd", "copy", "--connections", "2", source, uri);

        Assert.True(result.ExitCode == 0, result.ToString());
        Assert.Equal(await TargetImage.FileSha256Async(source), await TargetImage.Sha256Async(uri, dir));
    }

    [Fact]
    public async Task Copy_with_the_wrong_key_fails_with_exit_code_1_and_writes_nothing()
    {
        using var dir = new TempDirectory();
        var serverKeys = TestData.WritePskFile(dir, Identity, TestData.Random(32, seed: 10), "server.psk");
        var clientKeys = TestData.WritePskFile(dir, Identity, TestData.Random(32, seed: 11), "client.psk");
        var source = dir.File("source.raw");
        SparseImage.Create(source, 1 << 20, [(0, 4096)], seed: 12);
        await using var server = await ServerProcess.StartNbdkitAsync(false, "--tls=require", "--tls-psk=" + serverKeys, "memory", "1M");

        var result = await MigrateCli.RunAsync("nbd", "copy", source, server.Uri(pskFile: clientKeys, identity: Identity));

        Assert.Equal(1, result.ExitCode);
        Assert.StartsWith("whitesky-migrate: ", result.StdErr, StringComparison.Ordinal);
        Assert.DoesNotContain("copied", result.StdErr, StringComparison.Ordinal);
        Assert.Equal(
            ExtentMaps.ParseText("         0     1048576    3  hole,zero\n"),
            ExtentMaps.ParseText(await ExternalTool.RunAsync("nbdinfo", ["--map", server.Uri(pskFile: serverKeys, identity: Identity)])));
    }
}
