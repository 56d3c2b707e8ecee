using System.Globalization;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Http;
using Whitesky.Emulator.Http;
using Whitesky.Emulator.Models;
using Whitesky.Emulator.State;

namespace Whitesky.Emulator.Routes;

internal sealed partial class EmulatorApi
{
    private const string Vms = "/customers/{customer_id}/cloudspaces/{cloudspace_id}/vms";
    private const string Vm = Vms + "/{vm_id}";

    private void MapVms()
    {
        Op("GET", Vms, "listCloudspaceVirtualMachines", ListVmsAsync);
        Op("POST", Vms, "createVirtualMachine", CreateVmAsync);
        Op("GET", Vm, "getVirtualMachineInfo", GetVmAsync);
        Op("DELETE", Vm, "deleteVirtualMachine", DeleteVmAsync);
        Op("POST", Vm + "/start", "startVirtualMachine", StartVmAsync);
        Op("POST", Vm + "/stop", "stopVirtualMachine", StopVmAsync);
        Op("GET", Vm + "/disks", "listDisksVirtualMachine", ListVmDisksAsync);
        Op("POST", Vm + "/disks", "attachDiskVirtualMachine", AttachDiskAsync);
        Op("DELETE", Vm + "/disks/{disk_id}", "detachDiskVirtualMachine", DetachDiskAsync);
        Op("PUT", Vm + "/boot-disk", "SetBootDisk", SetBootDiskAsync);
        Op("PUT", Vm + "/boot-type", "SetBootType", SetBootTypeAsync);
        Op("POST", Vm + "/cdrom-images", "attachVirtualMachineCDROM", AttachCdromAsync);
        Op("DELETE", Vm + "/cdrom-images/{cdrom_id}", "detachVirtualMachineCDROM", DetachCdromAsync);
        Op("POST", Vms + "/import-vm-s3", "createVirtualMachineFromS3WithPayload", ImportVmAsync);
        Op("POST", Vm + "/export-vm-s3", "exportVirtualMachineToS3WithPayload", ExportVmAsync);
    }

    private async Task<IResult> ListVmsAsync(ApiCall call)
    {
        var includeDeleted = call.Query.Bool("include_deleted", false);
        var onlyDeleted = call.Query.Bool("only_deleted", false);
        call.Query.Bool("include_connected", false);
        call.Query.Bool("exclude_internal", false);
        using var _ = await LockAsync(call.Aborted).ConfigureAwait(false);
        var result = _vms.Values
            .Where(v => onlyDeleted ? v.DeletionTime is not null : includeDeleted || v.DeletionTime is null)
            .OrderBy(v => v.Id)
            .Select(v => new VmsModel
            {
                VmId = v.Id,
                Name = v.Name,
                Status = v.ReportedStatus(UtcNow),
                DeletionTime = v.DeletionTime?.ToUnixTimeSeconds().ToString(CultureInfo.InvariantCulture),
                CreationTime = v.CreationTime.ToUnixTimeSeconds(),
                UpdateTime = v.UpdateTime.ToUnixTimeSeconds(),
                ReferenceId = ReferenceId(v),
                ImageId = v.ImageId,
                Storage = Storage(v),
                Vcpus = v.Vcpus,
                Memory = v.Memory,
                Appliance = false,
                Disks = v.DiskIds.ToList(),
                TpmEnabled = v.TpmEnabled,
                Devices = Devices(v),
            })
            .ToList();
        return Ok(new ResultList<VmsModel>(result));
    }

    private async Task<IResult> CreateVmAsync(ApiCall call)
    {
        var query = call.Query;
        var name = query.RequiredString("name");
        var hostname = query.String("hostname");
        var description = query.RequiredString("description");
        var dataDisks = query.IntList("data_disks");
        var vcpus = query.RequiredInt("vcpus");
        var memory = query.RequiredInt("memory");
        var privateIp = query.String("private_ip");
        var userData = query.String("user_data");
        var start = query.Bool("start_vm", true);
        var tpmSecret = query.String("tpm_secret");
        var imageId = query.Int("image_id");
        var diskSize = query.Int("disk_size");
        var cdromId = query.Int("cdrom_id");
        var bootDiskId = query.Int("boot_disk_id");
        var osType = query.String("os_type", SwaggerEnums.OsType);
        var osName = query.String("os_name", SwaggerEnums.OsName);
        var enableAgent = query.Bool("enable_vm_agent", true);
        var snapshotId = query.String("snapshot_id");
        query.Bool("all_vm_disks", false);
        var acronis = query.Bool("acronis", false);
        var veeam = query.Bool("veeam", false);
        var bootType = query.String("boot_type", SwaggerEnums.BootType) ?? "bios";
        await call.BodyAsync(JsonInfo<JsonObject>(), required: false).ConfigureAwait(false);
        if (vcpus < 1 || memory < 128)
        {
            throw ApiError.BadRequest("vcpus must be at least 1 and memory at least 128 MiB");
        }

        if (diskSize is { } size)
        {
            CheckDiskSize(size);
        }

        using var _ = await LockAsync(call.Aborted).ConfigureAwait(false);
        var dataDiskRecords = dataDisks.Select(id => FindDisk(id)).ToList();
        foreach (var disk in dataDiskRecords.Where(d => d.VmId is not null || d.Exposure is not null))
        {
            throw ApiError.Conflict($"Disk {disk.Id} is attached to another virtual machine or exposed");
        }

        DiskRecord? bootDisk = null;
        CdromRecord? cdrom = null;
        if (bootDiskId is { } bootId)
        {
            bootDisk = FindDisk(bootId);
            if (bootDisk.VmId is not null || bootDisk.Exposure is not null || dataDisks.Contains(bootId))
            {
                throw ApiError.Conflict($"Disk {bootId} is attached to another virtual machine or exposed");
            }
        }
        else if (cdromId is not null || acronis || veeam)
        {
            if (cdromId is { } id)
            {
                cdrom = FindCdrom(id);
            }

            var origin = cdrom is not null ? "a CD-ROM" : acronis ? "an Acronis backup" : "a Veeam backup";
            var bootSize = diskSize ?? throw ApiError.BadRequest($"disk_size is required for a VM created from {origin}");
            bootDisk = NewDisk(name + "-boot", "Boot disk of " + name, bootSize, 2000, "BOOT");
        }
        else if (imageId is { } image)
        {
            throw ApiError.NotFound("Image", image);
        }
        else if (snapshotId is not null)
        {
            throw ApiError.NotFound("Snapshot", snapshotId);
        }
        else
        {
            throw ApiError.BadRequest("One of image_id, boot_disk_id, cdrom_id, snapshot_id, acronis or veeam is required");
        }

        var now = Options.TimeProvider.GetUtcNow();
        var vm = new VmRecord
        {
            Id = NextId(),
            Name = name,
            Description = description,
            Hostname = hostname ?? name,
            Vcpus = vcpus,
            Memory = memory,
            Status = start ? VmStatus.Running : VmStatus.Created,
            BootType = bootType,
            OsType = osType,
            OsName = osName,
            ImageId = imageId,
            Acronis = acronis,
            Veeam = veeam,
            EnableVmAgent = enableAgent,
            PrivateIp = privateIp,
            UserData = userData,
            TpmEnabled = tpmSecret is not null,
            CreationTime = now,
            UpdateTime = now,
            Transition = TransitionTo("CREATING"),
        };
        _vms.Add(vm.Id, vm);
        Attach(vm, bootDisk);
        vm.BootDiskId = bootDisk.Id;
        foreach (var disk in dataDiskRecords)
        {
            Attach(vm, disk);
        }

        if (cdrom is not null)
        {
            vm.CdromIds.Add(cdrom.Id);
        }

        return Ok(new VmIdModel(vm.Id));
    }

    private async Task<IResult> GetVmAsync(ApiCall call)
    {
        using var _ = await LockAsync(call.Aborted).ConfigureAwait(false);
        var vm = FindVm(call.RouteInt("vm_id"), includeDeleted: true);
        return Ok(new VmInfoModel
        {
            Name = vm.Name,
            VmId = vm.Id,
            Description = vm.Description,
            BootDiskId = vm.BootDiskId,
            CloudspaceId = Options.CloudspaceId,
            Status = vm.ReportedStatus(UtcNow),
            UpdateTime = vm.UpdateTime.ToUnixTimeSeconds(),
            CreationTime = vm.CreationTime.ToUnixTimeSeconds(),
            Vcpus = vm.Vcpus,
            Storage = Storage(vm),
            Memory = vm.Memory,
            AgentStatus = vm.Status == VmStatus.Running && vm.EnableVmAgent ? "RUNNING" : "UNKNOWN",
            ImageId = vm.ImageId,
            Locked = false,
            Hostname = vm.Hostname,
            Disks = VmDisks(vm),
            NetworkInterfaces =
            [
                new VmInfoModelNetworkInterfaces
                {
                    DeviceName = "eth0",
                    MacAddress = string.Create(CultureInfo.InvariantCulture, $"52:54:00:00:{(vm.Id >> 8) & 0xff:x2}:{vm.Id & 0xff:x2}"),
                    IpAddress = vm.PrivateIp ?? string.Create(CultureInfo.InvariantCulture, $"10.0.0.{2 + (vm.Id % 250)}"),
                    NetworkId = 1,
                    NicType = "INTERNAL",
                    Model = "virtio",
                },
            ],
            Appliance = false,
            BootType = vm.BootType,
            CpuTopology = new VmInfoModelCpuTopology(vm.Vcpus, 1, 1),
            Devices = Devices(vm),
            TpmEnabled = vm.TpmEnabled,
        });
    }

    private async Task<IResult> DeleteVmAsync(ApiCall call)
    {
        var permanently = call.Query.Bool("permanently", false);
        var detachDisks = call.Query.Bool("detach_disks", false);
        call.Query.Bool("detach_gpu", false);
        using var _ = await LockAsync(call.Aborted).ConfigureAwait(false);
        var vm = FindVm(call.RouteInt("vm_id"), includeDeleted: permanently);
        var disks = vm.DiskIds.Select(id => _disks[id]).ToList();
        if (disks.FirstOrDefault(d => d.Exposure is not null) is { } exposed)
        {
            throw ApiError.Conflict($"Disk {exposed.Id} of virtual machine {vm.Id} is exposed; unexpose it first");
        }

        foreach (var disk in disks)
        {
            Detach(vm, disk);
            if (!detachDisks)
            {
                if (permanently)
                {
                    _disks.Remove(disk.Id);
                    File.Delete(disk.Path);
                }
                else
                {
                    disk.DeletionTime = Options.TimeProvider.GetUtcNow();
                }
            }
        }

        vm.CdromIds.Clear();
        if (vm.Import is { } import)
        {
            // Deleting an importing VM ends its import; disks it made so far went with the VM above.
            vm.Import = null;
            await import.CancelAsync().ConfigureAwait(false);
        }

        if (permanently)
        {
            _vms.Remove(vm.Id);
        }
        else
        {
            vm.Status = VmStatus.Deleted;
            vm.Transition = TransitionTo("DELETING");
            vm.DeletionTime = Options.TimeProvider.GetUtcNow();
            Touch(vm);
        }

        return Success();
    }

    private async Task<IResult> StartVmAsync(ApiCall call)
    {
        call.Query.Int("rescue_disk_id");
        call.Query.String("tpm_secret");
        using var _ = await LockAsync(call.Aborted).ConfigureAwait(false);
        var vm = FindVm(call.RouteInt("vm_id"));
        if (vm.Status is not (VmStatus.Created or VmStatus.Stopped))
        {
            throw ApiError.Conflict($"Virtual machine {vm.Id} cannot start: it is {vm.Status}");
        }

        if (vm.BootDiskId is null && vm.CdromIds.Count == 0)
        {
            throw ApiError.Conflict($"Virtual machine {vm.Id} has no boot disk or CD-ROM to boot from");
        }

        if (vm.DiskIds.Select(id => _disks[id]).FirstOrDefault(d => d.Exposure is not null) is { } exposed)
        {
            throw ApiError.Conflict($"Disk {exposed.Id} of virtual machine {vm.Id} is exposed; unexpose it first");
        }

        vm.Status = VmStatus.Running;
        vm.Transition = TransitionTo("STARTING");
        Touch(vm);
        return Success();
    }

    private async Task<IResult> StopVmAsync(ApiCall call)
    {
        call.Query.Bool("force", false);
        using var _ = await LockAsync(call.Aborted).ConfigureAwait(false);
        var vm = FindVm(call.RouteInt("vm_id"));
        if (vm.Status != VmStatus.Running)
        {
            throw ApiError.Conflict($"Virtual machine {vm.Id} cannot stop: it is {vm.Status}");
        }

        vm.Status = VmStatus.Stopped;
        vm.Transition = TransitionTo("STOPPING");
        Touch(vm);
        return Success();
    }

    private async Task<IResult> ListVmDisksAsync(ApiCall call)
    {
        using var _ = await LockAsync(call.Aborted).ConfigureAwait(false);
        var vm = FindVm(call.RouteInt("vm_id"));
        return Ok(new ResultList<VmInfoModelDisks>(VmDisks(vm)));
    }

    private async Task<IResult> AttachDiskAsync(ApiCall call)
    {
        var diskId = call.Query.RequiredInt("disk_id");
        using var _ = await LockAsync(call.Aborted).ConfigureAwait(false);
        var vm = FindVm(call.RouteInt("vm_id"));
        var disk = FindDisk(diskId);
        RequireReady(disk);
        if (disk.VmId is { } owner)
        {
            throw ApiError.Conflict($"Disk {disk.Id} is already attached to virtual machine {owner}");
        }

        if (disk.Exposure is not null)
        {
            throw ApiError.Conflict($"Disk {disk.Id} is exposed; unexpose it first");
        }

        Attach(vm, disk);
        return Success();
    }

    private async Task<IResult> DetachDiskAsync(ApiCall call)
    {
        using var _ = await LockAsync(call.Aborted).ConfigureAwait(false);
        var vm = FindVm(call.RouteInt("vm_id"));
        var disk = FindDisk(call.RouteInt("disk_id"));
        if (disk.VmId != vm.Id)
        {
            throw ApiError.NotFound($"Disk attached to virtual machine {vm.Id}", disk.Id);
        }

        if (vm.BootDiskId == disk.Id && vm.Status == VmStatus.Running)
        {
            throw ApiError.Conflict($"Disk {disk.Id} is the boot disk of running virtual machine {vm.Id}; stop it first");
        }

        Detach(vm, disk);
        return Success();
    }

    private async Task<IResult> SetBootDiskAsync(ApiCall call)
    {
        var diskId = call.Query.Int("disk_id");
        using var _ = await LockAsync(call.Aborted).ConfigureAwait(false);
        var vm = FindVm(call.RouteInt("vm_id"));
        if (diskId is { } id)
        {
            var disk = FindDisk(id);
            if (disk.VmId != vm.Id)
            {
                throw ApiError.BadRequest($"Disk {id} is not attached to virtual machine {vm.Id}");
            }
        }

        vm.BootDiskId = diskId;
        Touch(vm);
        return Success();
    }

    private async Task<IResult> SetBootTypeAsync(ApiCall call)
    {
        var bootType = call.Query.RequiredString("boot_type", SwaggerEnums.BootType);
        using var _ = await LockAsync(call.Aborted).ConfigureAwait(false);
        var vm = FindVm(call.RouteInt("vm_id"));
        if (vm.Status == VmStatus.Running)
        {
            throw ApiError.Conflict($"Virtual machine {vm.Id} must be stopped to change its boot type");
        }

        var changed = vm.BootType != bootType;
        vm.BootType = bootType;
        Touch(vm);
        return Ok(new ChangedModel(changed));
    }

    private async Task<IResult> AttachCdromAsync(ApiCall call)
    {
        var cdromId = call.Query.RequiredInt("cdrom_id");
        call.Query.Number("backup_snapshot_ratio");
        using var _ = await LockAsync(call.Aborted).ConfigureAwait(false);
        var vm = FindVm(call.RouteInt("vm_id"));
        var cdrom = FindCdrom(cdromId);
        if (vm.CdromIds.Contains(cdrom.Id))
        {
            throw ApiError.Conflict($"CD-ROM {cdrom.Id} is already attached to virtual machine {vm.Id}");
        }

        vm.CdromIds.Add(cdrom.Id);
        Touch(vm);
        return Success();
    }

    private async Task<IResult> DetachCdromAsync(ApiCall call)
    {
        using var _ = await LockAsync(call.Aborted).ConfigureAwait(false);
        var vm = FindVm(call.RouteInt("vm_id"));
        var cdromId = call.RouteInt("cdrom_id");
        if (!vm.CdromIds.Remove(cdromId))
        {
            throw ApiError.NotFound($"CD-ROM attached to virtual machine {vm.Id}", cdromId);
        }

        Touch(vm);
        return Success();
    }

    private async Task<IResult> ExportVmAsync(ApiCall call)
    {
        var body = await call.BodyAsync(JsonInfo<ExportVmS3ArgsModel>(), required: true).ConfigureAwait(false);
        RequireBody(("link", body!.Link), ("key", body.Key), ("secret", body.Secret), ("region", body.Region), ("bucket", body.Bucket), ("object_name", body.ObjectName));
        using (await LockAsync(call.Aborted).ConfigureAwait(false))
        {
            FindVm(call.RouteInt("vm_id"));
        }

        throw new ApiError(501, "export-vm-s3 is not implemented by the emulator");
    }

    /// <summary>flask-restx's answer to a body without a required property.</summary>
    private static void RequireBody(params (string Name, object? Value)[] properties)
    {
        var missing = properties.Where(p => p.Value is null).ToDictionary(p => p.Name, p => $"'{p.Name}' is a required property");
        if (missing.Count > 0)
        {
            throw new ApiError(400, "Input payload validation failed", missing);
        }
    }

    private VmRecord FindVm(int id, bool includeDeleted = false) =>
        _vms.TryGetValue(id, out var vm) && (includeDeleted || vm.DeletionTime is null) ? vm : throw ApiError.NotFound("Virtual machine", id);

    private void Attach(VmRecord vm, DiskRecord disk)
    {
        disk.VmId = vm.Id;
        vm.DiskIds.Add(disk.Id);
        Touch(vm);
    }

    private void Detach(VmRecord vm, DiskRecord disk)
    {
        disk.VmId = null;
        vm.DiskIds.Remove(disk.Id);
        if (vm.BootDiskId == disk.Id)
        {
            vm.BootDiskId = null;
        }

        Touch(vm);
    }

    private void Touch(VmRecord vm) => vm.UpdateTime = Options.TimeProvider.GetUtcNow();

    private int Storage(VmRecord vm) => vm.DiskIds.Sum(id => _disks[id].SizeGb);

    private static string ReferenceId(VmRecord vm) => string.Create(CultureInfo.InvariantCulture, $"emulator-vm-{vm.Id}");

    private List<VmInfoModelDevices> Devices(VmRecord vm) =>
        vm.CdromIds.Select(id => new VmInfoModelDevices(
            string.Create(CultureInfo.InvariantCulture, $"cdrom-{id}"), "cdrom", _cdroms.TryGetValue(id, out var cdrom) ? cdrom.Name : string.Empty)).ToList();

    private List<VmInfoModelDisks> VmDisks(VmRecord vm) =>
        vm.DiskIds.Select((id, index) =>
        {
            var disk = _disks[id];
            return new VmInfoModelDisks
            {
                Status = disk.ReportedStatus(UtcNow),
                DiskSize = disk.SizeGb,
                DiskName = disk.Name,
                Description = disk.Description,
                Exposed = disk.Exposure is not null,
                PciBus = 0,
                PciSlot = 6 + index,
                DiskId = disk.Id,
                DiskType = vm.BootDiskId == disk.Id ? "BOOT" : disk.DiskType,
                Order = (vm.BootDiskId == disk.Id ? 0 : index + 1).ToString(CultureInfo.InvariantCulture),
            };
        }).ToList();
}
