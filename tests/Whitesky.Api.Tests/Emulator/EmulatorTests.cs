using System.Net;
using System.Net.Http.Headers;
using System.Security.Cryptography;
using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;
using Whitesky.Api.Auth;
using Whitesky.Api.Models;
using Whitesky.Emulator;
using Whitesky.Nbd;

namespace Whitesky.Api.Tests.Emulator;

/// <summary>Every client operation against <see cref="WhiteskyEmulator"/>, a local whitesky on loopback.</summary>
public sealed class EmulatorTests : IAsyncLifetime
{
    private const int PartSize = 64 * 1024;
    private WhiteskyEmulator _emulator = null!;
    private ServiceProvider _services = null!;
    private WhiteskyClient _client = null!;

    public async Task InitializeAsync()
    {
        _emulator = await WhiteskyEmulator.StartAsync(new WhiteskyEmulatorOptions { CdromPartSize = PartSize });
        (_client, _services) = Connect(_emulator.Jwt);
    }

    public async Task DisposeAsync()
    {
        await _services.DisposeAsync();
        await _emulator.DisposeAsync();
    }

    private (WhiteskyClient, ServiceProvider) Connect(string jwt, Action<WhiteskyClientOptions>? configure = null)
    {
        var services = new ServiceCollection().AddWhiteskyApi(o =>
        {
            o.BaseUrl = _emulator.BaseUrl;
            o.IamUrl = _emulator.IamUrl;
            o.Jwt = jwt;
            o.CustomerId = _emulator.CustomerId;
            o.CloudspaceId = _emulator.CloudspaceId;
            o.Location = _emulator.Location;
            o.PollInterval = TimeSpan.FromMilliseconds(20);
            o.RetryBaseDelay = TimeSpan.FromMilliseconds(5);
            configure?.Invoke(o);
        }).BuildServiceProvider();
        return (services.GetRequiredService<WhiteskyClient>(), services);
    }

    private Task<long> NewDiskAsync(string name, long sizeGb = 1, DiskType? type = null) =>
        _client.CreateDiskAsync(new CreateDiskRequest { DiskName = name, Description = "test", DiskSize = sizeGb, DiskType = type });

    [Fact]
    public async Task Account_calls_answer_the_emulators_context()
    {
        var jwt = await _client.GetCurrentUserJwtAsync();
        var locations = await _client.ListLocationsAsync();
        var cloudspaces = await _client.ListCloudspacesAsync(new ListCloudspacesQuery { IncludeDeleted = false });

        Assert.Equal(3, jwt.Split('.').Length);
        Assert.Contains(locations.Locations, l => l.Location == _emulator.Location);
        Assert.Contains(cloudspaces.Result!, c => c.CloudspaceId == _emulator.CloudspaceId);
    }

    [Fact]
    public async Task Disk_lifecycle_create_wait_read_resize_list_delete()
    {
        var id = await NewDiskAsync("data-1", 1);
        var created = await _client.WaitForDiskCreatedAsync(id, TimeSpan.FromSeconds(30));
        Assert.Equal(("data-1", 1L, DiskType.Data), (created.DiskName, created.DiskSize, created.DiskType));

        Assert.True(await _client.ResizeDiskAsync(id, 3));
        Assert.Equal(3, (await _client.GetDiskAsync(id)).DiskSize);
        Assert.Contains(await _client.ListDisksAsync(), d => d.DiskId == id);

        Assert.True(await _client.DeleteDiskAsync(id, permanently: true));
        Assert.DoesNotContain(await _client.ListDisksAsync(includeDeleted: true), d => d.DiskId == id);
        var e = await Assert.ThrowsAsync<WhiteskyApiException>(() => _client.GetDiskAsync(id));
        Assert.Equal(("getDiskInfo", HttpStatusCode.NotFound), (e.OperationId, e.StatusCode));
        Assert.NotNull(e.RequestId);
    }

    [Fact]
    public async Task Exposed_disk_written_over_nbd_tls_psk_reads_back_after_re_exposure()
    {
        var id = await NewDiskAsync("nbd-1", 1);
        var first = await _client.ExposeDiskAsync(id, maxConnections: 2);
        Assert.Equal("nbd", first.Protocol);
        Assert.Contains(await _client.ListExposedDisksAsync(), d => d.DiskId == id);

        var pattern = RandomNumberGenerator.GetBytes(1024 * 1024);
        await using (var nbd = await NbdClient.ConnectAsync(NbdOptions(first.Endpoint!, connections: 2)))
        {
            Assert.Equal(1L << 30, nbd.Export.Size);
            await nbd.WriteAsync(0, pattern);
            await nbd.WriteAsync((1L << 30) - pattern.Length, pattern);
            await nbd.FlushAsync();
        }

        Assert.True(await _client.UnexposeDiskAsync(id));
        Assert.DoesNotContain(await _client.ListExposedDisksAsync(), d => d.DiskId == id);

        var second = await _client.ExposeDiskAsync(id);
        Assert.NotEqual(first.Endpoint!.Psk, second.Endpoint!.Psk);
        var head = new byte[pattern.Length];
        var tail = new byte[pattern.Length];
        await using (var nbd = await NbdClient.ConnectAsync(NbdOptions(second.Endpoint!)))
        {
            await nbd.ReadAsync(0, head);
            await nbd.ReadAsync((1L << 30) - pattern.Length, tail);
        }

        Assert.Equal(SHA256.HashData(pattern), SHA256.HashData(head));
        Assert.Equal(SHA256.HashData(pattern), SHA256.HashData(tail));

        // The first exposure's key no longer opens the disk.
        await Assert.ThrowsAnyAsync<Exception>(async () =>
        {
            await using var stale = await NbdClient.ConnectAsync(NbdOptions(second.Endpoint! with { Psk = first.Endpoint.Psk, User = first.Endpoint.User }));
        });

        var twice = await Assert.ThrowsAsync<WhiteskyApiException>(() => _client.ExposeDiskAsync(id));
        Assert.Equal(("exposeDisk", HttpStatusCode.Conflict), (twice.OperationId, twice.StatusCode));
        Assert.True(await _client.UnexposeDiskAsync(id));
    }

    [Fact]
    public async Task Nbdcopy_writes_through_the_returned_psk_and_the_sdk_reads_it_back()
    {
        var id = await NewDiskAsync("nbdcopy-1", 1);
        var exposure = await _client.ExposeDiskAsync(id);
        var endpoint = exposure.Endpoint!;
        var folder = Directory.CreateTempSubdirectory("api-emulator-");
        try
        {
            var pskFile = Path.Combine(folder.FullName, "psk");
            await File.WriteAllTextAsync(pskFile, $"{endpoint.User}:{endpoint.Psk}\n");
            var source = Path.Combine(folder.FullName, "source.raw");
            var pattern = RandomNumberGenerator.GetBytes(256 * 1024);
            await using (var file = new FileStream(source, FileMode.CreateNew))
            {
                file.SetLength(1L << 30);
                file.Position = 4 << 20;
                await file.WriteAsync(pattern);
            }

            var uri = $"nbds://{endpoint.User}@{endpoint.Address}:{endpoint.Port}/{endpoint.Name}?tls-psk-file={pskFile}";
            await RunAsync("nbdcopy", [source, uri]);
            var info = JsonDocument.Parse(await RunAsync("nbdinfo", ["--json", uri])).RootElement;
            Assert.Equal(1L << 30, info.GetProperty("exports")[0].GetProperty("export-size").GetInt64());

            var back = new byte[pattern.Length];
            await using (var nbd = await NbdClient.ConnectAsync(NbdOptions(endpoint)))
            {
                await nbd.ReadAsync(4 << 20, back);
            }

            Assert.Equal(SHA256.HashData(pattern), SHA256.HashData(back));
        }
        finally
        {
            folder.Delete(recursive: true);
            await _client.UnexposeDiskAsync(id);
        }
    }

    private static async Task<string> RunAsync(string tool, string[] arguments)
    {
        var path = new[] { "/usr/bin", "/usr/local/bin", "/bin" }.Select(d => Path.Combine(d, tool)).FirstOrDefault(File.Exists)
            ?? throw new InvalidOperationException($"The test peer '{tool}' is not installed (libnbd-bin); ./test.sh installs it.");
        var start = new System.Diagnostics.ProcessStartInfo(path) { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }

        using var process = System.Diagnostics.Process.Start(start)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(1));
        await process.WaitForExitAsync(timeout.Token);
        Assert.True(process.ExitCode == 0, $"{tool} exited with {process.ExitCode}: {await stderr}");
        return await stdout;
    }

    private static NbdClientOptions NbdOptions(DiskExposureEndpoint endpoint, int connections = 1) => new()
    {
        Endpoint = NbdEndpoint.Tcp(endpoint.Address!, (int)endpoint.Port!.Value),
        ExportName = endpoint.Name!,
        TlsMode = NbdTlsMode.Required,
        TlsPsk = NbdTlsPsk.FromHex(endpoint.User!, endpoint.Psk!),
        Connections = connections,
    };

    [Fact]
    public async Task Vm_lifecycle_with_disks_boot_settings_and_state_waits()
    {
        var boot = await NewDiskAsync("boot", 2, DiskType.Boot);
        var vmId = await _client.CreateVirtualMachineAsync(new CreateVirtualMachineRequest
        {
            Name = "vm-1", Description = "migrated", VCpus = 2, Memory = 2048, BootDiskId = boot, StartVm = false,
            BootType = BootType.Uefi, OsType = OsType.Linux, OsName = OsName.Ubuntu2004,
        });

        var info = await _client.GetVirtualMachineAsync(vmId);
        Assert.Equal(("vm-1", "CREATED", 2L, 2048L), (info.Name, info.Status, info.VCpus, info.Memory));
        Assert.Equal(BootType.Uefi, info.BootType);
        Assert.Contains(await _client.ListVirtualMachinesAsync(), v => v.VmId == vmId);
        Assert.Contains(await _client.ListVirtualMachineDisksAsync(vmId), d => d.DiskId == boot);

        var data = await NewDiskAsync("data", 1);
        Assert.True(await _client.AttachDiskAsync(vmId, data));
        Assert.Contains(await _client.ListVirtualMachineDisksAsync(vmId), d => d.DiskId == data);
        Assert.True(await _client.SetBootDiskAsync(vmId, boot));
        Assert.True(await _client.SetBootTypeAsync(vmId, BootType.Bios));
        Assert.Equal(BootType.Bios, (await _client.GetVirtualMachineAsync(vmId)).BootType);

        Assert.True(await _client.StartVirtualMachineAsync(vmId));
        Assert.Equal("RUNNING", (await _client.WaitForVirtualMachineRunningAsync(vmId, TimeSpan.FromSeconds(30))).Status);
        var conflict = await Assert.ThrowsAsync<WhiteskyApiException>(() => _client.StartVirtualMachineAsync(vmId));
        Assert.Equal(("startVirtualMachine", HttpStatusCode.Conflict), (conflict.OperationId, conflict.StatusCode));
        Assert.True(await _client.StopVirtualMachineAsync(vmId, force: true));
        Assert.Equal("STOPPED", (await _client.WaitForVirtualMachineStoppedAsync(vmId, TimeSpan.FromSeconds(30))).Status);

        Assert.True(await _client.DetachDiskAsync(vmId, data));
        Assert.DoesNotContain(await _client.ListVirtualMachineDisksAsync(vmId), d => d.DiskId == data);
        Assert.True(await _client.DeleteVirtualMachineAsync(vmId, permanently: true, detachDisks: true));
        var gone = await Assert.ThrowsAsync<WhiteskyApiException>(() => _client.GetVirtualMachineAsync(vmId));
        Assert.Equal(HttpStatusCode.NotFound, gone.StatusCode);
    }

    [Fact]
    public async Task Cdrom_upload_boots_a_recovery_vm_and_attaches_and_detaches()
    {
        var iso = RandomNumberGenerator.GetBytes((3 * PartSize) + 1234);
        var upload = await _client.UploadCdromAsync(new MemoryStream(iso), "recovery.iso", "Recovery", OsType.Linux, OsName.LinuxOther);
        Assert.Equal(4, upload.Parts.Count);
        var cdromId = Assert.NotNull(upload.CdromId);

        var image = await _client.GetCdromAsync(cdromId);
        Assert.Equal(("Recovery", (long)iso.Length), (image.Name, image.Size));
        Assert.Equal(OsType.Linux, image.OsType);
        using (var http = new HttpClient())
        {
            var admin = JsonDocument.Parse(await http.GetStringAsync(new Uri($"{_emulator.AdminUrl}/cdroms/{cdromId}")));
            var path = admin.RootElement.EnumerateObject().First(p => p.Value.ValueKind == JsonValueKind.String && File.Exists(p.Value.GetString())).Value.GetString()!;
            Assert.Equal(SHA256.HashData(iso), SHA256.HashData(await File.ReadAllBytesAsync(path)));
        }

        var vmId = await _client.CreateVirtualMachineAsync(new CreateVirtualMachineRequest
        {
            Name = "recovery", Description = "path C", VCpus = 1, Memory = 1024, CdromId = cdromId, DiskSize = 2, StartVm = false,
        });
        Assert.True(await _client.DetachCdromAsync(vmId, cdromId));
        Assert.True(await _client.AttachCdromAsync(vmId, cdromId));
        var inUse = await Assert.ThrowsAsync<WhiteskyApiException>(() => _client.DeleteCdromAsync(cdromId));
        Assert.Equal(("deleteCustomerCDROMImage", HttpStatusCode.Conflict), (inUse.OperationId, inUse.StatusCode));
        Assert.True(await _client.DetachCdromAsync(vmId, cdromId));
        Assert.True(await _client.DeleteCdromAsync(cdromId, permanently: true));
    }

    [Theory]
    [InlineData("acronis")]
    [InlineData("veeam")]
    public async Task Backup_vendor_flags_are_recorded_on_the_vm(string vendor)
    {
        var vmId = await _client.CreateVirtualMachineAsync(new CreateVirtualMachineRequest
        {
            Name = vendor, Description = "restore target", VCpus = 1, Memory = 1024, DiskSize = 2, StartVm = false,
            Acronis = vendor == "acronis", Veeam = vendor == "veeam",
        });

        using var http = new HttpClient();
        var recorded = JsonDocument.Parse(await http.GetStringAsync(new Uri($"{_emulator.AdminUrl}/vms/{vmId}"))).RootElement;
        Assert.Equal(vendor == "acronis", recorded.GetProperty("acronis").GetBoolean());
        Assert.Equal(vendor == "veeam", recorded.GetProperty("veeam").GetBoolean());
    }

    [Fact]
    public async Task Dns_records_are_added_listed_and_deleted()
    {
        Assert.True(await _client.AddDnsRecordAsync(new AddDnsRecordRequest { Domain = "app.example.com", Type = "A", Value = "10.0.0.5" }));
        var record = Assert.Single(await _client.ListDnsRecordsAsync(), r => r.DomainName == "app.example.com");
        Assert.Equal(("A", "10.0.0.5"), (record.Type, record.Value));

        var duplicate = await Assert.ThrowsAsync<WhiteskyApiException>(() => _client.AddDnsRecordAsync(new AddDnsRecordRequest { Domain = "app.example.com", Type = "A", Value = "10.0.0.5" }));
        Assert.Equal(("AddCloudspaceDomain", HttpStatusCode.Conflict), (duplicate.OperationId, duplicate.StatusCode));

        Assert.True(await _client.DeleteDnsRecordAsync("app.example.com", "A"));
        Assert.DoesNotContain(await _client.ListDnsRecordsAsync(), r => r.DomainName == "app.example.com");
        var missing = await Assert.ThrowsAsync<WhiteskyApiException>(() => _client.DeleteDnsRecordAsync("app.example.com", "A"));
        Assert.Equal(("DeleteCloudspaceDnsRecord", HttpStatusCode.NotFound), (missing.OperationId, missing.StatusCode));
        Assert.Contains("does not exist", missing.PlatformMessage, StringComparison.Ordinal);
    }

    [Fact]
    public async Task S3_import_of_an_unreachable_object_ends_in_error_and_export_is_501_without_the_secret()
    {
        const string Secret = "emulator-s3-secret-value";

        // The emulator imports for real: the call answers the new VM at once, and the import then fails in the
        // background because nothing listens at the S3 endpoint named.
        var importedId = await _client.ImportVirtualMachineFromS3Async(new ImportVmFromS3Request
        {
            Link = "http://127.0.0.1:9", Key = "key", Secret = Secret, Region = "us-east-1", Bucket = "b", ObjectName = "vm.ova",
            Name = "vm", Description = "d", VCpus = 1, Memory = 1024, BootType = BootType.Bios, OsType = OsType.Linux, OsName = OsName.LinuxOther,
        });
        var failed = await Assert.ThrowsAsync<WhiteskyApiException>(() =>
            _client.WaitForVirtualMachineStatusAsync(importedId, ["RUNNING"], TimeSpan.FromSeconds(60)));
        Assert.Equal("getVirtualMachineInfo", failed.OperationId);
        Assert.Contains("ERROR", failed.Message, StringComparison.Ordinal);
        Assert.DoesNotContain(Secret, failed.ToString(), StringComparison.Ordinal);
        Assert.DoesNotContain(Secret, (await _client.GetVirtualMachineAsync(importedId)).ToString(), StringComparison.Ordinal);

        var vmId = await _client.CreateVirtualMachineAsync(new CreateVirtualMachineRequest { Name = "x", Description = "d", VCpus = 1, Memory = 512, DiskSize = 1, Veeam = true, StartVm = false });
        var export = await Assert.ThrowsAsync<WhiteskyApiException>(() => _client.ExportVirtualMachineToS3Async(vmId, new ExportVmToS3Request
        {
            Link = "http://127.0.0.1:4568", Key = "key", Secret = Secret, Region = "us-east-1", Bucket = "b", ObjectName = "out.ova",
        }));
        Assert.Equal(("exportVirtualMachineToS3WithPayload", HttpStatusCode.NotImplemented), (export.OperationId, export.StatusCode));
    }

    [Fact]
    public async Task A_short_lived_jwt_is_refreshed_through_the_emulators_iam()
    {
        var (client, services) = Connect(_emulator.IssueJwt(TimeSpan.FromSeconds(30)), o => o.RefreshBeforeExpiry = TimeSpan.FromMinutes(1));
        await using var _ = services;

        await client.ListDisksAsync();
        await client.ListExposedDisksAsync();

        Assert.Equal(1, services.GetRequiredService<WhiteskyTokenProvider>().RefreshCount);
    }

    [Fact]
    public async Task A_foreign_jwt_is_a_401()
    {
        await using var other = await WhiteskyEmulator.StartAsync();
        var (client, services) = Connect(other.Jwt);
        await using var _ = services;

        var e = await Assert.ThrowsAsync<WhiteskyApiException>(() => client.ListDisksAsync());
        Assert.Equal(("listDisks", HttpStatusCode.Unauthorized), (e.OperationId, e.StatusCode));
        Assert.DoesNotContain(other.Jwt, e.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Injected_503s_are_retried_for_get_and_not_for_post()
    {
        _emulator.Faults.FailOperation("listDisks", 503, times: 2);
        Assert.NotNull(await _client.ListDisksAsync());

        _emulator.Faults.FailOperation("createDisk", 503, times: 1);
        var e = await Assert.ThrowsAsync<WhiteskyApiException>(() => NewDiskAsync("never", 1));
        Assert.Equal(("createDisk", HttpStatusCode.ServiceUnavailable), (e.OperationId, e.StatusCode));
        Assert.DoesNotContain(await _client.ListDisksAsync(), d => d.DiskName == "never");

        _emulator.Faults.FailOperation("getDiskInfo", 500, times: 1);
        var fivehundred = await Assert.ThrowsAsync<WhiteskyApiException>(() => _client.GetDiskAsync(1));
        Assert.Equal(HttpStatusCode.InternalServerError, fivehundred.StatusCode);
    }
}
