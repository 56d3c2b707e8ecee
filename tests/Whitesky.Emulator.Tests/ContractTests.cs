using System.Net;
using System.Net.Http.Headers;
using System.Text.Json;

namespace Whitesky.Emulator.Tests;

/// <summary>
/// The emulator against the platform's swagger: every operation of the SDK's list is served at the swagger's path
/// and method, required query parameters are enforced like the platform, and every answer uses only the swagger's
/// property names and types.
/// </summary>
public class ContractTests
{
    private const int Absent = 999_999;

    [Fact]
    public async Task The_emulator_serves_every_listed_operation_at_the_swagger_path_and_method()
    {
        var contract = SwaggerContract.Instance;
        await using var emulator = await WhiteskyEmulator.StartAsync();
        using var http = new EmulatorHttp(emulator);

        var served = (await http.AdminAsync(HttpMethod.Get, string.Empty)).GetProperty("operations").EnumerateArray()
            .Select(o => (o.GetProperty("method").GetString(), o.GetProperty("path").GetString(), o.GetProperty("operation_id").GetString()))
            .ToHashSet();
        Assert.Equal(contract.Operations.Select(o => ((string?)o.Method, (string?)o.Path, (string?)o.OperationId)).ToHashSet(), served);

        var unknown = await http.ExpectAsync(HttpStatusCode.NotFound, HttpMethod.Get, $"{http.Base}/customers/{emulator.CustomerId}/no-such-resource");
        Assert.Contains("not found", unknown.GetProperty("message").GetString(), StringComparison.Ordinal);

        // Each route is matched and goes through the API pipeline (an unmatched one would be a bare 404).
        using var anonymous = new HttpClient();
        foreach (var operation in contract.Operations)
        {
            using var request = new HttpRequestMessage(new HttpMethod(operation.Method), Url(http, operation, new Dictionary<string, string>()));
            using var response = await anonymous.SendAsync(request);
            Assert.True(response.StatusCode == HttpStatusCode.Unauthorized, $"{operation.OperationId}: {(int)response.StatusCode} without a token");
            using var body = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
            Assert.True(body.RootElement.TryGetProperty("message", out _), operation.OperationId);
        }
    }

    [Fact]
    public async Task Each_missing_required_query_parameter_is_answered_400_naming_it()
    {
        var contract = SwaggerContract.Instance;
        await using var emulator = await WhiteskyEmulator.StartAsync();
        using var http = new EmulatorHttp(emulator);
        var checkedCount = 0;
        foreach (var operation in contract.Operations)
        {
            var required = operation.Parameters.Where(p => p.In == "query" && p.Required).ToList();
            foreach (var omitted in required)
            {
                var query = required.Where(p => p != omitted).ToDictionary(p => p.Name, Sample);
                var (status, body) = await http.SendAsync(new HttpMethod(operation.Method), Url(http, operation, query), EmulatorHttp.Json(new { }));
                Assert.True(status == HttpStatusCode.BadRequest, $"{operation.OperationId} without {omitted.Name}: {(int)status} {body}");
                Assert.True(body.GetProperty("errors").TryGetProperty(omitted.Name, out _), $"{operation.OperationId}: {body}");
                checkedCount++;
            }

            // A required body (import, export, finishing an upload) that is absent is refused the same way.
            if (operation.Parameters.Any(p => p.In == "body" && p.Required))
            {
                var query = required.ToDictionary(p => p.Name, Sample);
                var (status, body) = await http.SendAsync(new HttpMethod(operation.Method), Url(http, operation, query));
                Assert.True(status == HttpStatusCode.BadRequest, $"{operation.OperationId} without a body: {(int)status} {body}");
                checkedCount++;
            }
        }

        Assert.True(checkedCount >= 20, $"only {checkedCount} cases");
    }

    [Fact]
    public async Task Every_operation_answers_with_the_swagger_property_names_and_types()
    {
        var contract = SwaggerContract.Instance;
        await using var emulator = await WhiteskyEmulator.StartAsync(new WhiteskyEmulatorOptions { CdromPartSize = 64 * 1024 });
        using var http = new EmulatorHttp(emulator);
        var answers = new Dictionary<string, JsonElement>();

        async Task<JsonElement> Call(string operationId, Dictionary<string, string> route, Dictionary<string, string>? query = null, HttpContent? content = null)
        {
            var operation = contract[operationId];
            var body = await http.OkAsync(new HttpMethod(operation.Method), Url(http, operation, query ?? [], route), content);
            answers[operationId] = body;
            return body;
        }

        await Call("getCurrentUserJWT", []);
        await Call("listCustomerLocations", []);
        await Call("listCloudspaces", []);
        var boot = (await Call("createDisk", [], new() { ["disk_name"] = "boot", ["description"] = "b", ["disk_size"] = "1", ["disk_type"] = "BOOT" })).GetProperty("disk_id").GetInt32().ToString();
        var extra = (await Call("createDisk", [], new() { ["disk_name"] = "extra", ["description"] = "e", ["disk_size"] = "1" })).GetProperty("disk_id").GetInt32().ToString();
        await Call("getDiskInfo", new() { ["disk_id"] = boot });
        await Call("resizeDisk", new() { ["disk_id"] = extra }, new() { ["disk_size"] = "2" });
        await Call("listDisks", []);
        await Call("exposeDisk", [], new() { ["disk_id"] = extra, ["max_connections"] = "2" });
        await Call("listExposedDisks", []);
        await Call("unexposeDisk", new() { ["disk_id"] = extra });

        var upload = await Call("createCDROMMultipartUpload", [], new() { ["file_name"] = "tiny.iso" });
        var uploadId = upload.GetProperty("upload_id").GetString()!;
        var objectName = upload.GetProperty("object_name").GetString()!;
        var part = await Call("UploadCDROMPart", new() { ["upload_id"] = uploadId, ["part_id"] = "1" }, new() { ["object_name"] = objectName },
            new ByteArrayContent(new byte[1000]) { Headers = { ContentType = new MediaTypeHeaderValue("application/octet-stream") } });
        var finished = await Call("createCustomerCDROMImageFromFile", new() { ["upload_id"] = uploadId },
            new() { ["name"] = "tiny", ["os_type"] = "Linux", ["os_name"] = "Linux - other" },
            EmulatorHttp.Json(new { object_name = objectName, uploaded_parts = new[] { new { part_number = 1, etag = part.GetProperty("etag").GetString() } } }));
        var cdrom = finished.GetProperty("cdrom_id").GetInt32().ToString();
        await Call("getCDROMInfo", new() { ["cdrom_id"] = cdrom });

        var vm = (await Call("createVirtualMachine", [], new() { ["name"] = "vm", ["description"] = "d", ["vcpus"] = "1", ["memory"] = "512", ["boot_disk_id"] = boot, ["start_vm"] = "false" }))
            .GetProperty("vm_id").GetInt32().ToString();
        var onVm = new Dictionary<string, string> { ["vm_id"] = vm };
        await Call("getVirtualMachineInfo", onVm);
        await Call("listCloudspaceVirtualMachines", []);
        await Call("startVirtualMachine", onVm);
        await Call("stopVirtualMachine", onVm);
        await Call("attachDiskVirtualMachine", onVm, new() { ["disk_id"] = extra });
        await Call("listDisksVirtualMachine", onVm);
        await Call("detachDiskVirtualMachine", new() { ["vm_id"] = vm, ["disk_id"] = extra });
        await Call("SetBootDisk", onVm, new() { ["disk_id"] = boot });
        await Call("SetBootType", onVm, new() { ["boot_type"] = "uefi" });
        await Call("attachVirtualMachineCDROM", onVm, new() { ["cdrom_id"] = cdrom });
        answers["getVirtualMachineInfo"] = await Call("getVirtualMachineInfo", onVm); // now with a CD-ROM device
        await Call("detachVirtualMachineCDROM", new() { ["vm_id"] = vm, ["cdrom_id"] = cdrom });

        await Call("AddCloudspaceDomain", [], new() { ["domain"] = "www.example.com", ["type"] = "A", ["value"] = "10.0.0.5" });
        await Call("getCloudspaceDnsRecords", []);
        await Call("DeleteCloudspaceDnsRecord", new() { ["domain"] = "www.example.com" }, new() { ["record_type"] = "A" });

        await Call("deleteVirtualMachine", onVm, new() { ["permanently"] = "true" });
        await Call("deleteCustomerCDROMImage", new() { ["cdrom_id"] = cdrom });

        // import-vm-s3 answers the new VM's id at once (the import itself runs in the background; tests/Whitesky.IntegrationTests/OvfS3 drive it with s3rver).
        var importBody = new { link = "http://127.0.0.1:1", key = "k", secret = "s", region = "r", bucket = "b", object_name = "o.ova", name = "n", description = "d", vcpus = 1, memory = 512, boot_type = "bios", os_type = "Linux", os_name = "Linux - other" };
        var import = await http.OkAsync(HttpMethod.Post, $"{http.Cloudspace}/vms/import-vm-s3", EmulatorHttp.Json(importBody));
        Assert.True(import.GetProperty("vm_id").GetInt32() > 0);
        var vm2 = (await http.OkAsync(HttpMethod.Post, $"{http.Cloudspace}/vms?name=vm2&description=d&vcpus=1&memory=512&boot_disk_id={extra}&start_vm=false")).GetProperty("vm_id").GetInt32();
        var export = await http.ExpectAsync(HttpStatusCode.NotImplemented, HttpMethod.Post, $"{http.Cloudspace}/vms/{vm2}/export-vm-s3",
            EmulatorHttp.Json(new { link = "l", key = "k", secret = "s", region = "r", bucket = "b", object_name = "o" }));
        Assert.Contains("export-vm-s3", export.GetProperty("message").GetString(), StringComparison.Ordinal);

        await Call("deleteDisk", new() { ["disk_id"] = extra }, new() { ["permanently"] = "true" });

        var skipped = new[] { "createVirtualMachineFromS3WithPayload", "exportVirtualMachineToS3WithPayload" };
        Assert.Equal(contract.Operations.Select(o => o.OperationId).Except(skipped).Order(), answers.Keys.Order());
        var problems = new List<string>();
        foreach (var (operationId, body) in answers)
        {
            if (contract[operationId].Schema is { } schema)
            {
                contract.CheckShape(schema, body, operationId, problems);
            }
        }

        Assert.Empty(problems);
    }

    internal static string Sample(SwaggerParameter parameter) => parameter switch
    {
        { Choices: [var first, ..] } => first,
        { Type: "integer" or "number" } => "1",
        { Type: "boolean" } => "false",
        { Name: "object_name" } => "cdrom-images/none/x.iso",
        _ => "x",
    };

    private static string Url(EmulatorHttp http, SwaggerOperation operation, IReadOnlyDictionary<string, string> query, IReadOnlyDictionary<string, string>? route = null)
    {
        var path = operation.Path;
        foreach (var parameter in operation.Parameters.Where(p => p.In == "path"))
        {
            var value = route?.GetValueOrDefault(parameter.Name) ?? parameter.Name switch
            {
                "customer_id" => http.Emulator.CustomerId,
                "cloudspace_id" => http.Emulator.CloudspaceId,
                "location" => http.Emulator.Location,
                "domain" => "example.com",
                "part_id" => "1",
                _ when parameter.Type == "integer" => Absent.ToString(System.Globalization.CultureInfo.InvariantCulture),
                _ => "none",
            };
            path = path.Replace("{" + parameter.Name + "}", Uri.EscapeDataString(value), StringComparison.Ordinal);
        }

        var queryString = string.Join('&', query.Select(p => $"{Uri.EscapeDataString(p.Key)}={Uri.EscapeDataString(p.Value)}"));
        return http.Base + path + (queryString.Length > 0 ? "?" + queryString : string.Empty);
    }
}
