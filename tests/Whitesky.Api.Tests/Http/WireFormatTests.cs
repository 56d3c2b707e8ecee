using System.Text.Json;
using Whitesky.Api.Models;
using Whitesky.Api.Tests.Peers;

namespace Whitesky.Api.Tests.Http;

/// <summary>What goes over the wire: paths under the base path, query names and values, JSON bodies, and how answers read.</summary>
public sealed class WireFormatTests : IAsyncLifetime
{
    private ScriptedHttpServer _server = null!;

    public async Task InitializeAsync() => _server = await ScriptedHttpServer.StartAsync();

    public async Task DisposeAsync() => await _server.DisposeAsync();

    [Fact]
    public async Task Create_disk_sends_its_arguments_as_query_parameters_under_the_base_path()
    {
        _server.AnswerJson(200, """{"disk_id": 42}""");
        var (client, services) = ClientFactory.Create(_server);
        await using var _ = services;

        var id = await client.CreateDiskAsync(new CreateDiskRequest { DiskName = "boot disk", Description = "from vmdk", DiskSize = 20, DiskType = DiskType.Boot, Iops = 3000 });

        Assert.Equal(42, id);
        var request = Assert.Single(_server.Requests);
        Assert.Equal("POST", request.Method);
        Assert.Equal("/api/1/customers/cust-1/locations/loc-1/disks", request.Path);
        Assert.Equal(
            [new("disk_name", "boot disk"), new("description", "from vmdk"), new("disk_size", "20"), new("iops", "3000"), new("disk_type", "BOOT")],
            request.QueryPairs.OrderBy(p => p.Key == "disk_name" ? 0 : p.Key == "description" ? 1 : p.Key == "disk_size" ? 2 : p.Key == "iops" ? 3 : 4).ToList());
        Assert.Empty(request.Body);
    }

    [Fact]
    public async Task Create_vm_sends_enum_wire_strings_lowercase_booleans_and_csv_arrays_and_leaves_out_nulls()
    {
        _server.AnswerJson(200, """{"vm_id": 7}""");
        var (client, services) = ClientFactory.Create(_server);
        await using var _ = services;

        var id = await client.CreateVirtualMachineAsync(new CreateVirtualMachineRequest
        {
            Name = "web-01",
            Description = "migrated",
            VCpus = 2,
            Memory = 4096,
            DataDisks = [10, 20],
            OsType = OsType.Windows,
            OsName = OsName.WindowsServer2019,
            BootType = BootType.UefiSecureBoot,
            Acronis = true,
            StartVm = false,
            CdromId = 9,
        });

        Assert.Equal(7, id);
        var request = Assert.Single(_server.Requests);
        Assert.Equal("/api/1/customers/cust-1/cloudspaces/cs-1/vms", request.Path);
        var query = request.QueryPairs.ToDictionary(p => p.Key, p => p.Value);
        Assert.Equal(
            new Dictionary<string, string>
            {
                ["name"] = "web-01", ["description"] = "migrated", ["vcpus"] = "2", ["memory"] = "4096", ["data_disks"] = "10,20",
                ["os_type"] = "Windows", ["os_name"] = "Windows Server 2019", ["boot_type"] = "uefi-secure-boot",
                ["acronis"] = "true", ["start_vm"] = "false", ["cdrom_id"] = "9",
            },
            query);
    }

    [Fact]
    public async Task Import_from_s3_sends_a_snake_case_json_body_without_absent_fields()
    {
        _server.AnswerJson(200, """{"vm_id": 11}""");
        var (client, services) = ClientFactory.Create(_server);
        await using var _ = services;

        var id = await client.ImportVirtualMachineFromS3Async(new ImportVmFromS3Request
        {
            Link = "http://127.0.0.1:4568", Key = "AKIA", Secret = "s3-secret-value", Region = "us-east-1", Bucket = "b", ObjectName = "vm.ova",
            Name = "vm", Description = "d", VCpus = 1, Memory = 1024, BootType = BootType.Uefi, OsType = OsType.Linux, OsName = OsName.Ubuntu2004,
        });

        Assert.Equal(11, id);
        var request = Assert.Single(_server.Requests);
        Assert.Equal("/api/1/customers/cust-1/cloudspaces/cs-1/vms/import-vm-s3", request.Path);
        Assert.StartsWith("application/json", request.Headers["Content-Type"], StringComparison.Ordinal);
        using var body = JsonDocument.Parse(request.Body);
        Assert.Equal(
            ["boot_type", "bucket", "description", "key", "link", "memory", "name", "object_name", "os_name", "os_type", "region", "secret", "vcpus"],
            body.RootElement.EnumerateObject().Select(p => p.Name).Order(StringComparer.Ordinal).ToArray());
        Assert.Equal("Ubuntu 20.04", body.RootElement.GetProperty("os_name").GetString());
        Assert.Equal("uefi", body.RootElement.GetProperty("boot_type").GetString());
        Assert.Equal(1024, body.RootElement.GetProperty("memory").GetInt64());
    }

    [Fact]
    public async Task Disk_info_reads_known_and_unknown_enum_values_and_leaves_absent_fields_null()
    {
        _server.AnswerJson(200, """{"disk_id": 5, "disk_name": "d", "disk_size": 20, "disk_type": "BOOT", "status": "CREATED", "iotune": {"iops": 2000}}""");
        var (client, services) = ClientFactory.Create(_server);
        await using var _ = services;

        var disk = await client.GetDiskAsync(5);
        Assert.Equal(DiskType.Boot, disk.DiskType);
        Assert.True(disk.DiskType!.Value.IsKnown);
        Assert.Equal(2000, disk.IoTune!.Iops);
        Assert.Null(disk.VmId);
        Assert.Null(disk.Cache);
        Assert.Equal("/api/1/customers/cust-1/locations/loc-1/disks/5", _server.Requests.Single().Path);

        _server.AnswerJson(200, """{"disk_id": 5, "disk_type": "NVME-TIER"}""");
        var other = await client.GetDiskAsync(5);
        Assert.Equal("NVME-TIER", other.DiskType!.Value.Value);
        Assert.False(other.DiskType.Value.IsKnown);
        Assert.Equal("NVME-TIER", other.DiskType.Value.ToString());
    }

    [Fact]
    public async Task Expose_disk_returns_the_endpoint_and_sends_max_connections()
    {
        _server.AnswerJson(200, """{"protocol": "nbd", "endpoint": {"address": "127.0.0.1", "port": 10809, "name": "disk-5", "user": "ident", "psk": "00112233445566778899aabbccddeeff", "private_address": "10.0.0.2", "private_port": 10810}}""");
        var (client, services) = ClientFactory.Create(_server);
        await using var _ = services;

        var exposure = await client.ExposeDiskAsync(5, maxConnections: 4);

        Assert.Equal("nbd", exposure.Protocol);
        Assert.Equal(10809, exposure.Endpoint!.Port);
        Assert.Equal("00112233445566778899aabbccddeeff", exposure.Endpoint.Psk);
        var request = Assert.Single(_server.Requests);
        Assert.Equal("/api/1/customers/cust-1/cloudspaces/cs-1/exposed-disks", request.Path);
        Assert.Equal([new("disk_id", "5"), new("max_connections", "4")], request.QueryPairs.OrderBy(p => p.Key, StringComparer.Ordinal).ToList());
    }

    [Theory]
    [InlineData("\"eyJhbGciOi.eyJzdWIi.c2ln\"")]
    [InlineData("eyJhbGciOi.eyJzdWIi.c2ln")]
    public async Task Current_user_jwt_comes_back_unquoted(string body)
    {
        _server.Handle(async (_, ctx) => await ScriptedHttpServer.WriteJsonAsync(ctx, 200, body));
        var (client, services) = ClientFactory.Create(_server);
        await using var _ = services;

        Assert.Equal("eyJhbGciOi.eyJzdWIi.c2ln", await client.GetCurrentUserJwtAsync());
        Assert.Equal("/api/1/me/jwt", _server.Requests.Single().Path);
    }
}
