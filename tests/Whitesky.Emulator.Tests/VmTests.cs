using System.Net;
using System.Text.Json;

namespace Whitesky.Emulator.Tests;

/// <summary>VMs: the CREATED → RUNNING ⇄ STOPPED → DELETED state machine, disks, boot disk and type, CD-ROMs and vendor flags.</summary>
public class VmTests
{
    [Fact]
    public async Task A_vm_moves_through_created_running_stopped_and_deleted()
    {
        await using var emulator = await WhiteskyEmulator.StartAsync();
        using var http = new EmulatorHttp(emulator);
        var boot = await http.CreateDiskAsync(4, "boot");
        var data = await http.CreateDiskAsync(1, "data");
        var vm = (await http.OkAsync(HttpMethod.Post,
            $"{http.Cloudspace}/vms?name=web&description=d&vcpus=2&memory=2048&boot_disk_id={boot}&data_disks={data}&start_vm=false&boot_type=uefi&os_type=Linux&os_name=Ubuntu%2020.04")).GetProperty("vm_id").GetInt32();

        var info = await GetVmAsync(http, vm);
        Assert.Equal("CREATED", info.GetProperty("status").GetString());
        Assert.Equal("web", info.GetProperty("name").GetString());
        Assert.Equal(2, info.GetProperty("vcpus").GetInt32());
        Assert.Equal(2048, info.GetProperty("memory").GetInt32());
        Assert.Equal(boot, info.GetProperty("boot_disk_id").GetInt32());
        Assert.Equal("uefi", info.GetProperty("boot_type").GetString());
        Assert.Equal(5, info.GetProperty("storage").GetInt32());
        Assert.Equal([boot, data], info.GetProperty("disks").EnumerateArray().Select(d => d.GetProperty("disk_id").GetInt32()));

        await http.OkAsync(HttpMethod.Post, $"{http.Cloudspace}/vms/{vm}/start");
        Assert.Equal("RUNNING", (await GetVmAsync(http, vm)).GetProperty("status").GetString());
        await http.ExpectAsync(HttpStatusCode.Conflict, HttpMethod.Post, $"{http.Cloudspace}/vms/{vm}/start");
        await http.ExpectAsync(HttpStatusCode.Conflict, HttpMethod.Put, $"{http.Cloudspace}/vms/{vm}/boot-type?boot_type=bios");

        await http.OkAsync(HttpMethod.Post, $"{http.Cloudspace}/vms/{vm}/stop?force=true");
        Assert.Equal("STOPPED", (await GetVmAsync(http, vm)).GetProperty("status").GetString());
        await http.ExpectAsync(HttpStatusCode.Conflict, HttpMethod.Post, $"{http.Cloudspace}/vms/{vm}/stop");

        var list = (await http.OkAsync(HttpMethod.Get, $"{http.Cloudspace}/vms")).GetProperty("result").EnumerateArray().Single();
        Assert.Equal(vm, list.GetProperty("vm_id").GetInt32());
        Assert.Equal([boot, data], list.GetProperty("disks").EnumerateArray().Select(d => d.GetInt32()));

        await http.OkAsync(HttpMethod.Delete, $"{http.Cloudspace}/vms/{vm}?detach_disks=true");
        Assert.Empty((await http.OkAsync(HttpMethod.Get, $"{http.Cloudspace}/vms")).GetProperty("result").EnumerateArray());
        var deleted = (await http.OkAsync(HttpMethod.Get, $"{http.Cloudspace}/vms?include_deleted=true")).GetProperty("result").EnumerateArray().Single();
        Assert.Equal("DELETED", deleted.GetProperty("status").GetString());
        await http.ExpectAsync(HttpStatusCode.NotFound, HttpMethod.Post, $"{http.Cloudspace}/vms/{vm}/start");

        // detach_disks kept both disks, now free.
        var disks = (await http.OkAsync(HttpMethod.Get, $"{http.Location}/disks")).GetProperty("result").EnumerateArray().ToList();
        Assert.All(disks, d => Assert.Equal("CREATED", d.GetProperty("status").GetString()));
        Assert.Equal(2, disks.Count);
    }

    [Fact]
    public async Task Disks_attach_detach_and_the_boot_disk_and_type_change_while_stopped()
    {
        await using var emulator = await WhiteskyEmulator.StartAsync();
        using var http = new EmulatorHttp(emulator);
        var boot = await http.CreateDiskAsync(1, "boot");
        var extra = await http.CreateDiskAsync(1, "extra");
        var vm = (await http.OkAsync(HttpMethod.Post, $"{http.Cloudspace}/vms?name=vm&description=d&vcpus=1&memory=512&boot_disk_id={boot}")).GetProperty("vm_id").GetInt32();
        Assert.Equal("RUNNING", (await GetVmAsync(http, vm)).GetProperty("status").GetString()); // start_vm defaults to true

        await http.OkAsync(HttpMethod.Post, $"{http.Cloudspace}/vms/{vm}/disks?disk_id={extra}");
        await http.ExpectAsync(HttpStatusCode.Conflict, HttpMethod.Post, $"{http.Cloudspace}/vms/{vm}/disks?disk_id={extra}");
        var disks = (await http.OkAsync(HttpMethod.Get, $"{http.Cloudspace}/vms/{vm}/disks")).GetProperty("result").EnumerateArray().ToList();
        Assert.Equal([boot, extra], disks.Select(d => d.GetProperty("disk_id").GetInt32()));
        Assert.Equal("BOOT", disks[0].GetProperty("disk_type").GetString());

        await http.ExpectAsync(HttpStatusCode.Conflict, HttpMethod.Delete, $"{http.Cloudspace}/vms/{vm}/disks/{boot}"); // boot disk of a running VM
        await http.OkAsync(HttpMethod.Post, $"{http.Cloudspace}/vms/{vm}/stop");
        await http.OkAsync(HttpMethod.Put, $"{http.Cloudspace}/vms/{vm}/boot-disk?disk_id={extra}");
        Assert.Equal(extra, (await GetVmAsync(http, vm)).GetProperty("boot_disk_id").GetInt32());
        await http.OkAsync(HttpMethod.Delete, $"{http.Cloudspace}/vms/{vm}/disks/{boot}");
        await http.ExpectAsync(HttpStatusCode.NotFound, HttpMethod.Delete, $"{http.Cloudspace}/vms/{vm}/disks/{boot}");
        Assert.Equal([extra], (await GetVmAsync(http, vm)).GetProperty("disks").EnumerateArray().Select(d => d.GetProperty("disk_id").GetInt32()));

        Assert.True((await http.OkAsync(HttpMethod.Put, $"{http.Cloudspace}/vms/{vm}/boot-type?boot_type=uefi-secure-boot")).GetProperty("changed").GetBoolean());
        Assert.False((await http.OkAsync(HttpMethod.Put, $"{http.Cloudspace}/vms/{vm}/boot-type?boot_type=uefi-secure-boot")).GetProperty("changed").GetBoolean());
        await http.ExpectAsync(HttpStatusCode.BadRequest, HttpMethod.Put, $"{http.Cloudspace}/vms/{vm}/boot-type?boot_type=efi");
        await http.ExpectAsync(HttpStatusCode.BadRequest, HttpMethod.Put, $"{http.Cloudspace}/vms/{vm}/boot-type");
        Assert.Equal("uefi-secure-boot", (await GetVmAsync(http, vm)).GetProperty("boot_type").GetString());

        // Exposing a disk of a running VM is refused; of a stopped one it works, and the VM cannot start meanwhile.
        await http.ExposeAsync(extra);
        await http.ExpectAsync(HttpStatusCode.Conflict, HttpMethod.Post, $"{http.Cloudspace}/vms/{vm}/start");
        await http.OkAsync(HttpMethod.Delete, $"{http.Cloudspace}/exposed-disks/{extra}");
        await http.OkAsync(HttpMethod.Post, $"{http.Cloudspace}/vms/{vm}/start");
        await http.ExpectAsync(HttpStatusCode.Conflict, HttpMethod.Post, $"{http.Cloudspace}/exposed-disks?disk_id={extra}");
    }

    [Theory]
    [InlineData("acronis")]
    [InlineData("veeam")]
    public async Task A_vm_from_a_vendor_backup_records_the_flag_and_gets_an_empty_boot_disk(string vendor)
    {
        await using var emulator = await WhiteskyEmulator.StartAsync();
        using var http = new EmulatorHttp(emulator);
        await http.ExpectAsync(HttpStatusCode.BadRequest, HttpMethod.Post, $"{http.Cloudspace}/vms?name=r&description=d&vcpus=1&memory=512&{vendor}=true");
        var vm = (await http.OkAsync(HttpMethod.Post, $"{http.Cloudspace}/vms?name=r&description=d&vcpus=1&memory=512&{vendor}=true&disk_size=3&start_vm=false")).GetProperty("vm_id").GetInt32();
        var recorded = await http.AdminAsync(HttpMethod.Get, $"/vms/{vm}");
        Assert.Equal(vendor == "acronis", recorded.GetProperty("acronis").GetBoolean());
        Assert.Equal(vendor == "veeam", recorded.GetProperty("veeam").GetBoolean());
        var info = await GetVmAsync(http, vm);
        var bootDisk = info.GetProperty("boot_disk_id").GetInt32();
        Assert.Equal(3, (await http.OkAsync(HttpMethod.Get, $"{http.Location}/disks/{bootDisk}")).GetProperty("disk_size").GetInt32());
    }

    [Fact]
    public async Task Create_needs_a_boot_source_and_the_required_arguments()
    {
        await using var emulator = await WhiteskyEmulator.StartAsync();
        using var http = new EmulatorHttp(emulator);
        var missing = await http.ExpectAsync(HttpStatusCode.BadRequest, HttpMethod.Post, $"{http.Cloudspace}/vms?name=a&description=d&vcpus=1");
        Assert.True(missing.GetProperty("errors").TryGetProperty("memory", out _));
        await http.ExpectAsync(HttpStatusCode.BadRequest, HttpMethod.Post, $"{http.Cloudspace}/vms?name=a&description=d&vcpus=1&memory=512");
        await http.ExpectAsync(HttpStatusCode.NotFound, HttpMethod.Post, $"{http.Cloudspace}/vms?name=a&description=d&vcpus=1&memory=512&image_id=7");
        await http.ExpectAsync(HttpStatusCode.NotFound, HttpMethod.Post, $"{http.Cloudspace}/vms?name=a&description=d&vcpus=1&memory=512&boot_disk_id=999999");
        await http.ExpectAsync(HttpStatusCode.BadRequest, HttpMethod.Post, $"{http.Cloudspace}/vms?name=a&description=d&vcpus=1&memory=512&boot_disk_id=1&os_name=Plan9");
        await http.ExpectAsync(HttpStatusCode.NotFound, HttpMethod.Get, $"{http.Cloudspace}/vms/999999");
        Assert.Empty((await http.OkAsync(HttpMethod.Get, $"{http.Cloudspace}/vms")).GetProperty("result").EnumerateArray());
    }

    internal static Task<JsonElement> GetVmAsync(EmulatorHttp http, int vm) => http.OkAsync(HttpMethod.Get, $"{http.Cloudspace}/vms/{vm}");
}
