using System.Net;
using System.Net.Sockets;
using Whitesky.Emulator;
using Whitesky.Migrate.Tests.Support;
using Whitesky.Nbd;
using Whitesky.Nbd.Tests.Peers;

namespace Whitesky.Migrate.Tests;

/// <summary>
/// <c>replicate</c> and <c>cutover</c> smoke tests: qemu-nbd with a dirty bitmap or a raw file as the source, raw
/// files and emulator disks as targets. The whitesky tests set WHITESKY_* in the process environment, so they run
/// one at a time.
/// </summary>
[Collection(nameof(WhiteskyEnvironmentCollection))]
public sealed class ReplicateCommandTests
{
    private const long MiB = 1L << 20;

    [Fact]
    public async Task Replicate_with_block_hashes_converges_resumes_from_its_state_and_the_final_pass_makes_the_target_equal()
    {
        using var dir = new TempDirectory();
        var source = dir.File("live.raw");
        var target = dir.File("target.raw");
        var state = dir.File("state.json");
        await ExternalTool.RunAsync("qemu-img", ["create", "-q", "-f", "raw", source, "16M"]);
        await ExternalTool.RunAsync("qemu-io", ["-f", "raw", "-c", "write -P 0x11 0 3M", source]);

        var first = await MigrateCli.RunAsync("replicate", "--change-source", "hash", "--state", state, "--until-delta", "1M", source, target);
        Assert.True(first.ExitCode == 0, first.ToString());
        Assert.Contains("initial sync: changed 3M", first.StdErr, StringComparison.Ordinal);
        Assert.Contains("pass 1: changed 0", first.StdErr, StringComparison.Ordinal);
        Assert.Contains("converged: the delta is below --until-delta", first.StdErr, StringComparison.Ordinal);

        await ExternalTool.RunAsync("qemu-io", ["-f", "raw", "-c", "write -P 0x22 8M 4k", source]);
        var final = await MigrateCli.RunAsync("replicate", "--change-source", "hash", "--state", state, "--final", source, target);
        Assert.True(final.ExitCode == 0, final.ToString());
        Assert.Contains("resuming at pass 2", final.StdErr, StringComparison.Ordinal);
        Assert.Contains("final sync: changed 64K in 1 range(s), sent 4K", final.StdErr, StringComparison.Ordinal);
        Assert.Equal(await TestData.Sha256FileAsync(source), await TestData.Sha256FileAsync(target));

        var wrong = await MigrateCli.RunAsync("replicate", "--change-source", "bitmap:x", source, target);
        Assert.Equal(1, wrong.ExitCode);
        Assert.Contains("bitmap:NAME needs", wrong.StdErr, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Replicate_into_a_whitesky_disk_then_cutover_from_a_plan_prints_the_downtime_report()
    {
        using var dir = new TempDirectory();
        await using var emulator = await WhiteskyEmulator.StartAsync();
        SetEnvironment(emulator);
        var image = dir.File("web.qcow2");
        await ExternalTool.RunAsync("qemu-img", ["create", "-q", "-f", "qcow2", image, "32M"]);
        await ExternalTool.RunAsync("qemu-io", ["-f", "qcow2", "-c", "write -P 0x33 0 2M", image]);
        await ExternalTool.RunAsync("qemu-img", ["bitmap", "--add", image, "bm0"]);
        await using var server = await ServerProcess.StartQemuNbdAsync(image, "qcow2", "-B", "bm0", "-e", "4");
        await using var writer = await NbdClient.ConnectAsync(server.Options());
        var state = dir.File("web.json");

        var replicate = await MigrateCli.RunAsync("replicate", "-c", "bitmap:bm0", "--state", state, server.Uri(), "whitesky:new");
        Assert.True(replicate.ExitCode == 0, replicate.ToString());
        Assert.Contains("initial sync: changed 2M", replicate.StdErr, StringComparison.Ordinal);
        var diskId = long.Parse(replicate.StdOut.Trim().Split('=')[1], System.Globalization.CultureInfo.InvariantCulture);
        Assert.Empty(await ListExposedAsync(emulator));

        // The application: something listening where the probe looks; a DNS record to switch.
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        var port = ((IPEndPoint)listener.LocalEndpoint).Port;
        var stopped = dir.File("stopped");
        await writer.WriteAsync(20 * MiB, TestData.Random(8192, 5));
        await writer.FlushAsync();
        var plan = dir.File("plan.json");
        await File.WriteAllTextAsync(plan, $$"""
            {
              "application": "shop",
              "max_delta_bytes": 1048576,
              "dns_records": [ { "domain": "shop.example.com", "type": "A", "value": "192.0.2.20" } ],
              "validation_timeout_seconds": 10,
              "probe_interval_seconds": 0.05,
              "vms": [
                {
                  "name": "web",
                  "disks": [ { "source": "{{server.Uri()}}", "change_source": "bitmap:bm0", "state": "{{state}}", "disk_id": {{diskId}} } ],
                  "stop": "touch '{{stopped}}'",
                  "restart": "rm -f '{{stopped}}'",
                  "target": { "vcpus": 2, "memory_mib": 2048 },
                  "probes": [ { "tcp": "127.0.0.1:{{port}}" }, { "command": "test -f '{{stopped}}'" } ]
                }
              ]
            }
            """);

        var cutover = await MigrateCli.RunAsync("cutover", plan);
        Assert.True(cutover.ExitCode == 0, cutover.ToString());
        Assert.Contains("Cutover of shop: succeeded", cutover.StdOut, StringComparison.Ordinal);
        Assert.Contains("downtime:", cutover.StdOut, StringComparison.Ordinal);
        Assert.Contains("web: final sync: changed 64K in 1 range(s), sent 8K", cutover.StdErr, StringComparison.Ordinal);
        Assert.True(File.Exists(stopped));

        // The disk holds the export's final content.
        var expected = new byte[32 * MiB];
        await writer.ReadAsync(0, expected);
        var actual = new byte[32 * MiB];
        await using (var file = File.OpenRead(Path.Combine(emulator.DataDirectory, "disks", $"disk-{diskId}.raw")))
        {
            await file.ReadExactlyAsync(actual);
        }

        Assert.Equal(TestData.Sha256(expected), TestData.Sha256(actual));

        var missing = await MigrateCli.RunAsync("cutover", dir.File("nope.json"));
        Assert.Equal(1, missing.ExitCode);
    }

    private static void SetEnvironment(WhiteskyEmulator emulator)
    {
        Environment.SetEnvironmentVariable("WHITESKY_BASE_URL", emulator.BaseUrl.ToString());
        Environment.SetEnvironmentVariable("WHITESKY_IAM_URL", emulator.IamUrl.ToString());
        Environment.SetEnvironmentVariable("WHITESKY_JWT", emulator.Jwt);
        Environment.SetEnvironmentVariable("WHITESKY_CUSTOMER_ID", emulator.CustomerId);
        Environment.SetEnvironmentVariable("WHITESKY_CLOUDSPACE_ID", emulator.CloudspaceId);
        Environment.SetEnvironmentVariable("WHITESKY_LOCATION", emulator.Location);
    }

    private static async Task<string> ListExposedAsync(WhiteskyEmulator emulator)
    {
        using var http = new HttpClient();
        using var request = new HttpRequestMessage(HttpMethod.Get, $"{emulator.BaseUrl}/customers/{emulator.CustomerId}/cloudspaces/{emulator.CloudspaceId}/exposed-disks");
        request.Headers.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", emulator.Jwt);
        using var response = await http.SendAsync(request);
        var body = await response.Content.ReadAsStringAsync();
        return body.Contains("\"disk_id\"", StringComparison.Ordinal) ? body : string.Empty;
    }
}

/// <summary>Tests that set WHITESKY_* in the process environment.</summary>
[CollectionDefinition(nameof(WhiteskyEnvironmentCollection), DisableParallelization = true)]
public sealed class WhiteskyEnvironmentCollection;
