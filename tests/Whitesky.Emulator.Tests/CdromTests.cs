using System.Net;
using System.Net.Http.Headers;
using System.Security.Cryptography;
using System.Text.Json;

namespace Whitesky.Emulator.Tests;

/// <summary>CD-ROM multipart upload: create, parts with ETags, finish; the stored ISO is the uploaded bytes in part order.</summary>
public class CdromTests
{
    private const int PartSize = 64 * 1024;

    [Fact]
    public async Task A_multipart_upload_stores_exactly_the_uploaded_bytes_and_can_be_attached_to_a_vm()
    {
        await using var emulator = await WhiteskyEmulator.StartAsync(new WhiteskyEmulatorOptions { CdromPartSize = PartSize });
        using var http = new EmulatorHttp(emulator);
        var iso = RandomNumberGenerator.GetBytes(2 * PartSize + 1234);

        var upload = await http.OkAsync(HttpMethod.Post, $"{http.Location}/cdrom-images/upload-cdrom?file_name=install.iso");
        Assert.Equal(PartSize, upload.GetProperty("part_size").GetInt32());
        var uploadId = upload.GetProperty("upload_id").GetString()!;
        var objectName = upload.GetProperty("object_name").GetString()!;

        // Parts out of order, one uploaded twice (the second one counts).
        var etags = new Dictionary<int, string>();
        foreach (var number in new[] { 3, 1, 2, 2 })
        {
            var bytes = iso.AsSpan((number - 1) * PartSize, Math.Min(PartSize, iso.Length - ((number - 1) * PartSize))).ToArray();
            etags[number] = await UploadPartAsync(http, uploadId, objectName, number, bytes);
            Assert.Equal($"\"{Convert.ToHexStringLower(MD5.HashData(bytes))}\"", etags[number]);
        }

        var parts = etags.OrderBy(p => p.Key).Select(p => new { part_number = p.Key, etag = p.Value }).ToArray();
        var finished = await http.OkAsync(HttpMethod.Post, $"{http.Location}/cdrom-images/{uploadId}/finish-cdrom-upload?name=installer&os_type=Linux&os_name=Debian%2010",
            EmulatorHttp.Json(new { object_name = objectName, uploaded_parts = parts }));
        var cdromId = finished.GetProperty("cdrom_id").GetInt32();

        var info = await http.OkAsync(HttpMethod.Get, $"{http.Location}/cdrom-images/{cdromId}");
        Assert.Equal("installer", info.GetProperty("name").GetString());
        Assert.Equal("Debian 10", info.GetProperty("os_name").GetString());
        Assert.Equal(iso.Length, info.GetProperty("size").GetInt64());
        var path = (await http.AdminAsync(HttpMethod.Get, $"/cdroms/{cdromId}")).GetProperty("path").GetString()!;
        Assert.Equal(SHA256.HashData(iso), SHA256.HashData(await File.ReadAllBytesAsync(path)));

        // Boot a VM from it: a boot disk of disk_size is made and the CD-ROM is attached.
        var vm = (await http.OkAsync(HttpMethod.Post, $"{http.Cloudspace}/vms?name=inst&description=d&vcpus=1&memory=512&cdrom_id={cdromId}&disk_size=2&start_vm=false")).GetProperty("vm_id").GetInt32();
        var devices = (await VmTests.GetVmAsync(http, vm)).GetProperty("devices").EnumerateArray().ToList();
        Assert.Equal($"cdrom-{cdromId}", devices.Single().GetProperty("reference_id").GetString());
        Assert.Equal([cdromId], (await http.AdminAsync(HttpMethod.Get, $"/vms/{vm}")).GetProperty("cdrom_ids").EnumerateArray().Select(c => c.GetInt32()));
        await http.ExpectAsync(HttpStatusCode.Conflict, HttpMethod.Delete, $"{http.Location}/cdrom-images/{cdromId}");
        await http.OkAsync(HttpMethod.Delete, $"{http.Cloudspace}/vms/{vm}/cdrom-images/{cdromId}");
        await http.ExpectAsync(HttpStatusCode.NotFound, HttpMethod.Delete, $"{http.Cloudspace}/vms/{vm}/cdrom-images/{cdromId}");
        await http.OkAsync(HttpMethod.Post, $"{http.Cloudspace}/vms/{vm}/cdrom-images?cdrom_id={cdromId}");
        await http.ExpectAsync(HttpStatusCode.Conflict, HttpMethod.Post, $"{http.Cloudspace}/vms/{vm}/cdrom-images?cdrom_id={cdromId}");
        await http.OkAsync(HttpMethod.Delete, $"{http.Cloudspace}/vms/{vm}/cdrom-images/{cdromId}");
        await http.OkAsync(HttpMethod.Delete, $"{http.Location}/cdrom-images/{cdromId}?permanently=true");
        Assert.False(File.Exists(path));
        await http.ExpectAsync(HttpStatusCode.NotFound, HttpMethod.Get, $"{http.Location}/cdrom-images/{cdromId}");
    }

    [Fact]
    public async Task Wrong_etags_missing_parts_oversized_parts_and_foreign_object_names_are_refused()
    {
        await using var emulator = await WhiteskyEmulator.StartAsync(new WhiteskyEmulatorOptions { CdromPartSize = PartSize });
        using var http = new EmulatorHttp(emulator);
        var upload = await http.OkAsync(HttpMethod.Post, $"{http.Location}/cdrom-images/upload-cdrom?file_name=x.iso");
        var uploadId = upload.GetProperty("upload_id").GetString()!;
        var objectName = upload.GetProperty("object_name").GetString()!;
        var etag = await UploadPartAsync(http, uploadId, objectName, 1, new byte[100]);

        var tooBig = await SendPartAsync(http, uploadId, objectName, 2, new byte[PartSize + 1]);
        Assert.Equal(HttpStatusCode.RequestEntityTooLarge, tooBig.Status);
        Assert.Equal(HttpStatusCode.BadRequest, (await SendPartAsync(http, uploadId, "cdrom-images/other/x.iso", 2, new byte[10])).Status);
        Assert.Equal(HttpStatusCode.NotFound, (await SendPartAsync(http, "nope", objectName, 2, new byte[10])).Status);

        var finish = $"{http.Location}/cdrom-images/{uploadId}/finish-cdrom-upload?name=x&os_type=Linux&os_name=Linux%20-%20other";
        await http.ExpectAsync(HttpStatusCode.BadRequest, HttpMethod.Post, finish, EmulatorHttp.Json(new { object_name = objectName, uploaded_parts = new[] { new { part_number = 1, etag = "\"0000\"" } } }));
        await http.ExpectAsync(HttpStatusCode.BadRequest, HttpMethod.Post, finish, EmulatorHttp.Json(new { object_name = objectName, uploaded_parts = new[] { new { part_number = 1, etag }, new { part_number = 2, etag } } }));
        await http.ExpectAsync(HttpStatusCode.BadRequest, HttpMethod.Post, finish.Replace("Linux%20-%20other", "Amiga", StringComparison.Ordinal), EmulatorHttp.Json(new { object_name = objectName, uploaded_parts = new[] { new { part_number = 1, etag } } }));
        await http.OkAsync(HttpMethod.Post, finish, EmulatorHttp.Json(new { object_name = objectName, uploaded_parts = new[] { new { part_number = 1, etag } } }));
        await http.ExpectAsync(HttpStatusCode.NotFound, HttpMethod.Post, finish, EmulatorHttp.Json(new { object_name = objectName, uploaded_parts = new[] { new { part_number = 1, etag } } }));
    }

    private static async Task<string> UploadPartAsync(EmulatorHttp http, string uploadId, string objectName, int number, byte[] bytes)
    {
        var (status, etag, body) = await SendPartAsync(http, uploadId, objectName, number, bytes);
        Assert.True(status == HttpStatusCode.OK, body);
        Assert.Equal(etag, JsonDocument.Parse(body).RootElement.GetProperty("etag").GetString());
        return etag!;
    }

    private static async Task<(HttpStatusCode Status, string? Etag, string Body)> SendPartAsync(EmulatorHttp http, string uploadId, string objectName, int number, byte[] bytes)
    {
        using var content = new ByteArrayContent(bytes);
        content.Headers.ContentType = new MediaTypeHeaderValue("application/octet-stream");
        using var response = await http.Client.PutAsync($"{http.Location}/cdrom-images/{uploadId}/upload-part/{number}?object_name={Uri.EscapeDataString(objectName)}", content);
        return (response.StatusCode, response.Headers.ETag?.Tag, await response.Content.ReadAsStringAsync());
    }
}
