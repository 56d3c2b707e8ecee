using System.Net;
using System.Security.Cryptography;
using Whitesky.Nbd.Tests.Peers;
using Whitesky.Nbd;

namespace Whitesky.Emulator.Tests;

/// <summary>
/// exposed-disks: the SDK's NBD server serves the disk file over TLS-PSK with a fresh identity and key per exposure;
/// the SDK client, nbdinfo and nbdcopy reach it with the answered endpoint and key.
/// </summary>
public class ExposeTests
{
    private static readonly TimeSpan Limit = TimeSpan.FromSeconds(60);

    [Fact]
    public async Task Write_over_tls_psk_unexpose_reexpose_with_a_new_key_and_read_back()
    {
        await using var emulator = await WhiteskyEmulator.StartAsync();
        using var http = new EmulatorHttp(emulator);
        var diskId = await http.CreateDiskAsync(1);
        var first = NbdExposure.From(await http.ExposeAsync(diskId));
        Assert.Equal("nbd", first.Protocol);
        Assert.Equal("127.0.0.1", first.Address);
        Assert.Equal(64, first.Psk.Length);
        Assert.True((await http.OkAsync(HttpMethod.Get, $"{http.Location}/disks/{diskId}")).GetProperty("exposed").GetBoolean());
        var listed = (await http.OkAsync(HttpMethod.Get, $"{http.Cloudspace}/exposed-disks")).GetProperty("result").EnumerateArray();
        Assert.Equal([diskId], listed.Select(e => e.GetProperty("disk_id").GetInt32()));

        var data = RandomNumberGenerator.GetBytes(3 << 20);
        const long Offset = 256L << 20;
        await using (var client = await first.ConnectAsync().WaitAsync(Limit))
        {
            Assert.Equal(1L << 30, client.Export.Size);
            await client.WriteAsync(Offset, data);
            await client.FlushAsync();
        }

        await http.OkAsync(HttpMethod.Delete, $"{http.Cloudspace}/exposed-disks/{diskId}");
        Assert.Empty((await http.OkAsync(HttpMethod.Get, $"{http.Cloudspace}/exposed-disks")).GetProperty("result").EnumerateArray());
        await Assert.ThrowsAnyAsync<Exception>(() => first.ConnectAsync().WaitAsync(Limit)); // the endpoint is gone

        // The bytes are in the disk file.
        var path = (await http.AdminAsync(HttpMethod.Get, $"/disks/{diskId}")).GetProperty("path").GetString()!;
        Assert.Equal(SHA256.HashData(data), SHA256.HashData(await ReadFileRangeAsync(path, Offset, data.Length)));

        var second = NbdExposure.From(await http.ExposeAsync(diskId));
        Assert.NotEqual(first.Psk, second.Psk);
        Assert.NotEqual(first.User, second.User);

        // The old identity and key do not open the new exposure.
        await Assert.ThrowsAnyAsync<NbdException>(() => NbdClient.ConnectAsync(second.ClientOptions(user: first.User, psk: first.Psk)).WaitAsync(Limit));
        await Assert.ThrowsAnyAsync<NbdException>(() => NbdClient.ConnectAsync(second.ClientOptions(psk: first.Psk)).WaitAsync(Limit));

        await using (var client = await second.ConnectAsync().WaitAsync(Limit))
        {
            var back = new byte[data.Length];
            await client.ReadAsync(Offset, back);
            Assert.Equal(SHA256.HashData(data), SHA256.HashData(back));
        }

        // The private endpoint (the NBD server itself) serves the same export with the same key.
        await using (var direct = await second.ConnectAsync(privateEndpoint: true).WaitAsync(Limit))
        {
            var back = new byte[4096];
            await direct.ReadAsync(Offset, back);
            Assert.Equal(data.AsSpan(0, 4096).ToArray(), back);
        }

        await http.OkAsync(HttpMethod.Delete, $"{http.Cloudspace}/exposed-disks/{diskId}");
    }

    [Fact]
    public async Task Nbdinfo_and_nbdcopy_use_the_returned_psk()
    {
        await using var emulator = await WhiteskyEmulator.StartAsync();
        using var http = new EmulatorHttp(emulator);
        using var dir = new TempDirectory();
        var diskId = await http.CreateDiskAsync(1);
        var exposure = NbdExposure.From(await http.ExposeAsync(diskId));
        var uri = exposure.UriWithPskFile(dir.File("keys.psk"));

        Assert.Equal((1L << 30).ToString(System.Globalization.CultureInfo.InvariantCulture), (await ExternalTool.RunAsync("nbdinfo", ["--size", uri], Limit)).Trim());

        // nbdcopy a 4 MiB image in, then the whole disk out; the first 4 MiB match and the rest reads as zeros.
        var source = dir.File("in.raw");
        var data = RandomNumberGenerator.GetBytes(4 << 20);
        await File.WriteAllBytesAsync(source, data);
        await ExternalTool.RunAsync("nbdcopy", [source, uri], Limit);
        var output = dir.File("out.raw");
        await ExternalTool.RunAsync("nbdcopy", [uri, output], Limit);
        Assert.Equal(1L << 30, new FileInfo(output).Length);
        Assert.Equal(SHA256.HashData(data), SHA256.HashData(await ReadFileRangeAsync(output, 0, data.Length)));
        Assert.True((await ReadFileRangeAsync(output, data.Length, 1 << 20)).All(b => b == 0));

        // A wrong key is refused by the GnuTLS client too.
        await File.WriteAllTextAsync(dir.File("wrong.psk"), $"{exposure.User}:{Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(32))}\n");
        var wrong = $"nbds://{exposure.User}@{exposure.Address}:{exposure.Port}/{exposure.Name}?tls-psk-file={Uri.EscapeDataString(dir.File("wrong.psk"))}";
        var (exitCode, stdout, _) = await ExternalTool.TryRunAsync("nbdinfo", ["--size", wrong], Limit);
        Assert.NotEqual(0, exitCode);
        Assert.Empty(stdout.Trim());
    }

    [Fact]
    public async Task Max_connections_bounds_the_clients_of_an_exposure()
    {
        await using var emulator = await WhiteskyEmulator.StartAsync();
        using var http = new EmulatorHttp(emulator);
        var diskId = await http.CreateDiskAsync(1);
        var exposure = NbdExposure.From(await http.ExposeAsync(diskId, maxConnections: 1));
        await using (var first = await exposure.ConnectAsync().WaitAsync(Limit))
        {
            await Assert.ThrowsAnyAsync<NbdException>(() => exposure.ConnectAsync().WaitAsync(Limit));
            await first.ReadAsync(0, new byte[512]);
        }

        // With the first one gone, a client gets in (the server frees the slot when it sees the close).
        NbdClient? again = null;
        for (var attempt = 0; again is null && attempt < 50; attempt++)
        {
            try
            {
                again = await exposure.ConnectAsync().WaitAsync(Limit);
            }
            catch (NbdException) when (attempt < 49)
            {
                await Task.Yield();
            }
        }

        await again!.DisposeAsync();
        var bad = await http.ExpectAsync(HttpStatusCode.BadRequest, HttpMethod.Post, $"{http.Cloudspace}/exposed-disks?disk_id={diskId}&max_connections=0");
        Assert.Contains("max_connections", bad.GetProperty("message").GetString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Exposing_twice_resizing_or_deleting_an_exposed_disk_is_a_conflict_and_unknown_disks_are_404()
    {
        await using var emulator = await WhiteskyEmulator.StartAsync();
        using var http = new EmulatorHttp(emulator);
        var diskId = await http.CreateDiskAsync(1);
        await http.ExposeAsync(diskId);
        await http.ExpectAsync(HttpStatusCode.Conflict, HttpMethod.Post, $"{http.Cloudspace}/exposed-disks?disk_id={diskId}");
        await http.ExpectAsync(HttpStatusCode.Conflict, HttpMethod.Put, $"{http.Location}/disks/{diskId}/size?disk_size=2");
        await http.ExpectAsync(HttpStatusCode.Conflict, HttpMethod.Delete, $"{http.Location}/disks/{diskId}");
        await http.ExpectAsync(HttpStatusCode.NotFound, HttpMethod.Post, $"{http.Cloudspace}/exposed-disks?disk_id=999999");
        await http.ExpectAsync(HttpStatusCode.NotFound, HttpMethod.Delete, $"{http.Cloudspace}/exposed-disks/999999");
        await http.ExpectAsync(HttpStatusCode.BadRequest, HttpMethod.Post, $"{http.Cloudspace}/exposed-disks");
    }

    internal static async Task<byte[]> ReadFileRangeAsync(string path, long offset, int length)
    {
        await using var file = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite);
        file.Position = offset;
        var buffer = new byte[length];
        await file.ReadExactlyAsync(buffer);
        return buffer;
    }
}
