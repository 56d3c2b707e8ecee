using System.Net;
using Whitesky.Api.Models;
using Whitesky.Api.Tests.Contract;
using Whitesky.Api.Tests.Peers;

namespace Whitesky.Api.Tests.Http;

/// <summary>
/// Every listed operation, called through the façade (or its Refit interface where the façade wraps it), reaches its
/// swagger route with its method, and a failure of it is reported under its operation id.
/// </summary>
public sealed class OperationRoutingTests : IAsyncLifetime
{
    private static readonly Dictionary<string, Func<WhiteskyClient, Task>> Calls = new()
    {
        ["getCurrentUserJWT"] = c => c.GetCurrentUserJwtAsync(),
        ["listCustomerLocations"] = c => c.ListLocationsAsync(),
        ["listCloudspaces"] = c => c.ListCloudspacesAsync(new ListCloudspacesQuery { Locations = ["a", "b"] }),
        ["listDisks"] = c => c.ListDisksAsync(includeDeleted: true),
        ["createDisk"] = c => c.CreateDiskAsync(new CreateDiskRequest { DiskName = "n", Description = "d", DiskSize = 1 }),
        ["getDiskInfo"] = c => c.GetDiskAsync(5),
        ["deleteDisk"] = c => c.DeleteDiskAsync(5),
        ["resizeDisk"] = c => c.ResizeDiskAsync(5, 2),
        ["listExposedDisks"] = c => c.ListExposedDisksAsync(),
        ["exposeDisk"] = c => c.ExposeDiskAsync(5),
        ["unexposeDisk"] = c => c.UnexposeDiskAsync(5),
        ["listCloudspaceVirtualMachines"] = c => c.ListVirtualMachinesAsync(),
        ["createVirtualMachine"] = c => c.CreateVirtualMachineAsync(new CreateVirtualMachineRequest { Name = "n", Description = "d", VCpus = 1, Memory = 512 }),
        ["getVirtualMachineInfo"] = c => c.GetVirtualMachineAsync(6),
        ["deleteVirtualMachine"] = c => c.DeleteVirtualMachineAsync(6),
        ["startVirtualMachine"] = c => c.StartVirtualMachineAsync(6),
        ["stopVirtualMachine"] = c => c.StopVirtualMachineAsync(6),
        ["listDisksVirtualMachine"] = c => c.ListVirtualMachineDisksAsync(6),
        ["attachDiskVirtualMachine"] = c => c.AttachDiskAsync(6, 5),
        ["detachDiskVirtualMachine"] = c => c.DetachDiskAsync(6, 5),
        ["SetBootDisk"] = c => c.SetBootDiskAsync(6, 5),
        ["SetBootType"] = c => c.SetBootTypeAsync(6, BootType.Uefi),
        ["attachVirtualMachineCDROM"] = c => c.AttachCdromAsync(6, 7),
        ["detachVirtualMachineCDROM"] = c => c.DetachCdromAsync(6, 7),
        ["createCDROMMultipartUpload"] = c => c.CdromImages.CreateCdromUploadAsync(c.CustomerId!, c.Location!, "x.iso"),
        ["UploadCDROMPart"] = c => c.CdromImages.UploadCdromPartAsync(c.CustomerId!, c.Location!, "up", "1", "obj", new ByteArrayContent([1, 2, 3])),
        ["createCustomerCDROMImageFromFile"] = c => c.CdromImages.FinishCdromUploadAsync(c.CustomerId!, c.Location!, "up", "n", OsType.Linux, OsName.LinuxOther,
            new CdromUploadCompletion { ObjectName = "obj", UploadedParts = [new CdromUploadedPart { PartNumber = 1, Etag = "\"e\"" }] }),
        ["getCDROMInfo"] = c => c.GetCdromAsync(7),
        ["deleteCustomerCDROMImage"] = c => c.DeleteCdromAsync(7),
        ["createVirtualMachineFromS3WithPayload"] = c => c.ImportVirtualMachineFromS3Async(new ImportVmFromS3Request
        {
            Link = "l", Key = "k", Secret = "s", Region = "r", Bucket = "b", ObjectName = "o", Name = "n", Description = "d",
            VCpus = 1, Memory = 1, BootType = BootType.Bios, OsType = OsType.Linux, OsName = OsName.LinuxOther,
        }),
        ["exportVirtualMachineToS3WithPayload"] = c => c.ExportVirtualMachineToS3Async(6, new ExportVmToS3Request { Link = "l", Key = "k", Secret = "s", Region = "r", Bucket = "b", ObjectName = "o" }),
        ["getCloudspaceDnsRecords"] = c => c.ListDnsRecordsAsync(),
        ["AddCloudspaceDomain"] = c => c.AddDnsRecordAsync(new AddDnsRecordRequest { Domain = "app.example.com", Type = "A", Value = "10.0.0.5" }),
        ["DeleteCloudspaceDnsRecord"] = c => c.DeleteDnsRecordAsync("app.example.com", "A"),
    };

    private ScriptedHttpServer _server = null!;

    public static TheoryData<string> OperationIds() => new(SwaggerDocument.Load().ListedOperationIds());

    public async Task InitializeAsync() => _server = await ScriptedHttpServer.StartAsync();

    public async Task DisposeAsync() => await _server.DisposeAsync();

    [Theory]
    [MemberData(nameof(OperationIds))]
    public async Task Operation_reaches_its_swagger_route_and_names_itself_on_failure(string operationId)
    {
        var swagger = SwaggerDocument.Load();
        var (method, template) = swagger.Root.GetProperty("paths").EnumerateObject()
            .SelectMany(p => p.Value.EnumerateObject().Where(m => m.Name != "parameters").Select(m => (Method: m.Name.ToUpperInvariant(), Template: p.Name, Op: m.Value)))
            .Where(x => x.Op.GetProperty("operationId").GetString() == operationId)
            .Select(x => (x.Method, x.Template))
            .Single();
        var expectedPath = "/api/1" + template
            .Replace("{customer_id}", "cust-1", StringComparison.Ordinal).Replace("{cloudspace_id}", "cs-1", StringComparison.Ordinal)
            .Replace("{location}", "loc-1", StringComparison.Ordinal).Replace("{disk_id}", "5", StringComparison.Ordinal)
            .Replace("{vm_id}", "6", StringComparison.Ordinal).Replace("{cdrom_id}", "7", StringComparison.Ordinal)
            .Replace("{upload_id}", "up", StringComparison.Ordinal).Replace("{part_id}", "1", StringComparison.Ordinal)
            .Replace("{domain}", "app.example.com", StringComparison.Ordinal);
        _server.AnswerJson(418, """{"message": "scripted failure"}""");
        var (client, services) = ClientFactory.Create(_server);
        await using var _ = services;

        var e = await Assert.ThrowsAsync<WhiteskyApiException>(() => Calls[operationId](client));

        var request = Assert.Single(_server.Requests);
        Assert.Equal((method, expectedPath), (request.Method, request.Path));
        Assert.Equal(operationId, e.OperationId);
        Assert.Equal((HttpStatusCode)418, e.StatusCode);
        Assert.Equal("scripted failure", e.PlatformMessage);
    }
}
