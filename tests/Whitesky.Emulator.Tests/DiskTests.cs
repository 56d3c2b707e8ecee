using System.Net;

namespace Whitesky.Emulator.Tests;

/// <summary>Disks are sparse files of disk_size GiB in the data folder; create, get, list, resize and delete change them.</summary>
public class DiskTests
{
    private const long GiB = 1L << 30;

    [Fact]
    public async Task Create_get_list_resize_and_delete_a_disk_backed_by_a_sparse_file()
    {
        await using var emulator = await WhiteskyEmulator.StartAsync();
        using var http = new EmulatorHttp(emulator);
        var id = await http.CreateDiskAsync(2, "data1");

        var info = await http.OkAsync(HttpMethod.Get, $"{http.Location}/disks/{id}");
        Assert.Equal(id, info.GetProperty("disk_id").GetInt32());
        Assert.Equal(2, info.GetProperty("disk_size").GetInt32());
        Assert.Equal("data1", info.GetProperty("disk_name").GetString());
        Assert.Equal("DATA", info.GetProperty("disk_type").GetString());
        Assert.Equal("CREATED", info.GetProperty("status").GetString());
        Assert.False(info.GetProperty("exposed").GetBoolean());

        var path = (await http.AdminAsync(HttpMethod.Get, $"/disks/{id}")).GetProperty("path").GetString()!;
        Assert.StartsWith(emulator.DataDirectory, path, StringComparison.Ordinal);
        Assert.Equal(2 * GiB, new FileInfo(path).Length);
        Assert.Equal("0", (await Whitesky.Nbd.Tests.Peers.ExternalTool.RunAsync("stat", ["-c", "%b", path])).Trim()); // no block allocated

        var list = await http.OkAsync(HttpMethod.Get, $"{http.Location}/disks");
        Assert.Equal([id], list.GetProperty("result").EnumerateArray().Select(d => d.GetProperty("disk_id").GetInt32()));

        await http.OkAsync(HttpMethod.Put, $"{http.Location}/disks/{id}/size?disk_size=3");
        Assert.Equal(3 * GiB, new FileInfo(path).Length);
        Assert.Equal(3, (await http.OkAsync(HttpMethod.Get, $"{http.Location}/disks/{id}")).GetProperty("disk_size").GetInt32());
        var shrink = await http.ExpectAsync(HttpStatusCode.BadRequest, HttpMethod.Put, $"{http.Location}/disks/{id}/size?disk_size=1");
        Assert.Contains("shrink", shrink.GetProperty("message").GetString(), StringComparison.Ordinal);

        // Soft delete: gone from the list, kept in the recycle bin; permanent delete removes the file.
        Assert.True((await http.OkAsync(HttpMethod.Delete, $"{http.Location}/disks/{id}")).GetProperty("success").GetBoolean());
        Assert.Empty((await http.OkAsync(HttpMethod.Get, $"{http.Location}/disks")).GetProperty("result").EnumerateArray());
        var deleted = (await http.OkAsync(HttpMethod.Get, $"{http.Location}/disks?only_deleted=true")).GetProperty("result").EnumerateArray().Single();
        Assert.Equal("DELETED", deleted.GetProperty("status").GetString());
        Assert.True(File.Exists(path));
        await http.OkAsync(HttpMethod.Delete, $"{http.Location}/disks/{id}?permanently=true");
        Assert.False(File.Exists(path));
        await http.ExpectAsync(HttpStatusCode.NotFound, HttpMethod.Get, $"{http.Location}/disks/{id}");
    }

    [Fact]
    public async Task Missing_or_invalid_query_arguments_are_400_like_the_platform()
    {
        await using var emulator = await WhiteskyEmulator.StartAsync();
        using var http = new EmulatorHttp(emulator);
        var missing = await http.ExpectAsync(HttpStatusCode.BadRequest, HttpMethod.Post, $"{http.Location}/disks?disk_name=a&description=b");
        Assert.Equal("Input payload validation failed", missing.GetProperty("message").GetString());
        Assert.True(missing.GetProperty("errors").TryGetProperty("disk_size", out _));

        var badType = await http.ExpectAsync(HttpStatusCode.BadRequest, HttpMethod.Post, $"{http.Location}/disks?disk_name=a&description=b&disk_size=1&disk_type=SSD");
        Assert.True(badType.GetProperty("errors").TryGetProperty("disk_type", out _));
        var notInt = await http.ExpectAsync(HttpStatusCode.BadRequest, HttpMethod.Post, $"{http.Location}/disks?disk_name=a&description=b&disk_size=big");
        Assert.True(notInt.GetProperty("errors").TryGetProperty("disk_size", out _));
        Assert.Empty((await http.OkAsync(HttpMethod.Get, $"{http.Location}/disks")).GetProperty("result").EnumerateArray());
    }

    [Fact]
    public async Task A_disk_attached_to_a_vm_is_kept_when_detach_is_false_and_released_when_true()
    {
        await using var emulator = await WhiteskyEmulator.StartAsync();
        using var http = new EmulatorHttp(emulator);
        var boot = await http.CreateDiskAsync(1, "boot");
        var vm = (await http.OkAsync(HttpMethod.Post, $"{http.Cloudspace}/vms?name=vm&description=d&vcpus=1&memory=1024&boot_disk_id={boot}&start_vm=false")).GetProperty("vm_id").GetInt32();
        var data = (await http.OkAsync(HttpMethod.Post, $"{http.Location}/disks?disk_name=d&description=d&disk_size=1&vm_id={vm}")).GetProperty("disk_id").GetInt32();
        var info = await http.OkAsync(HttpMethod.Get, $"{http.Location}/disks/{data}");
        Assert.Equal(vm, info.GetProperty("vm_id").GetInt32());
        Assert.Equal("ASSIGNED", info.GetProperty("status").GetString());

        await http.ExpectAsync(HttpStatusCode.Conflict, HttpMethod.Delete, $"{http.Location}/disks/{data}?detach=false");
        await http.OkAsync(HttpMethod.Delete, $"{http.Location}/disks/{data}?detach=true");
        var disks = (await http.OkAsync(HttpMethod.Get, $"{http.Cloudspace}/vms/{vm}/disks")).GetProperty("result").EnumerateArray();
        Assert.Equal([boot], disks.Select(d => d.GetProperty("disk_id").GetInt32()));
    }
}
