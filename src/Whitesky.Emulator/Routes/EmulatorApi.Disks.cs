using System.Globalization;
using Microsoft.AspNetCore.Http;
using Whitesky.Emulator.Http;
using Whitesky.Emulator.Models;
using Whitesky.Emulator.State;

namespace Whitesky.Emulator.Routes;

internal sealed partial class EmulatorApi
{
    /// <summary>Disk sizes are whole GiB (the platform's "GB").</summary>
    internal const long BytesPerGb = 1L << 30;

    /// <summary>Largest disk the emulator creates (files are sparse, but a bound keeps a typo from making an absurd file).</summary>
    private const int MaxDiskSizeGb = 64 * 1024;

    private static readonly double[] BackupSizeLimits = [0.1, 0.25, 0.5, 1];

    private void MapDisks()
    {
        const string Disks = "/customers/{customer_id}/locations/{location}/disks";
        Op("GET", Disks, "listDisks", ListDisksAsync);
        Op("POST", Disks, "createDisk", CreateDiskAsync);
        Op("GET", Disks + "/{disk_id}", "getDiskInfo", GetDiskAsync);
        Op("DELETE", Disks + "/{disk_id}", "deleteDisk", DeleteDiskAsync);
        Op("PUT", Disks + "/{disk_id}/size", "resizeDisk", ResizeDiskAsync);
    }

    private async Task<IResult> ListDisksAsync(ApiCall call)
    {
        var includeDeleted = call.Query.Bool("include_deleted", false);
        var onlyDeleted = call.Query.Bool("only_deleted", false);
        using var _ = await LockAsync(call.Aborted).ConfigureAwait(false);
        var result = _disks.Values
            .Where(d => onlyDeleted ? d.DeletionTime is not null : includeDeleted || d.DeletionTime is null)
            .OrderBy(d => d.Id)
            .Select(d => new DisksModel
            {
                Status = d.ReportedStatus(UtcNow),
                DiskSize = d.SizeGb,
                DiskName = d.Name,
                Description = d.Description,
                DeletionTime = d.DeletionTime?.ToUnixTimeSeconds().ToString(CultureInfo.InvariantCulture),
                Exposed = d.Exposure is not null,
                DiskId = d.Id,
                DiskType = d.DiskType,
                Order = Order(d),
                VmId = d.VmId,
                VmName = d.VmId is { } vm && _vms.TryGetValue(vm, out var owner) ? owner.Name : null,
                CloudspaceId = Options.CloudspaceId,
                Iotune = new DiskModelIotune(d.Iops),
            })
            .ToList();
        return Ok(new ResultList<DisksModel>(result));
    }

    private async Task<IResult> CreateDiskAsync(ApiCall call)
    {
        var query = call.Query;
        var name = query.RequiredString("disk_name");
        var description = query.RequiredString("description");
        var size = query.RequiredInt("disk_size");
        var iops = query.Int("iops") ?? 2000;
        var type = query.String("disk_type", SwaggerEnums.DiskType) ?? "DATA";
        var vmId = query.String("vm_id");
        var raid = query.String("raid_level", SwaggerEnums.RaidLevel);
        var backupLimit = query.Number("backup_size_limit");
        if (backupLimit is { } limit && !BackupSizeLimits.Contains(limit))
        {
            throw ApiError.Argument("backup_size_limit", $"The value '{limit.ToString(CultureInfo.InvariantCulture)}' is not a valid choice for 'backup_size_limit'.");
        }

        CheckDiskSize(size);
        using var _ = await LockAsync(call.Aborted).ConfigureAwait(false);
        VmRecord? vm = null;
        if (vmId is not null)
        {
            vm = int.TryParse(vmId, NumberStyles.None, CultureInfo.InvariantCulture, out var id) ? FindVm(id) : throw ApiError.NotFound("Virtual machine", vmId);
        }

        var disk = NewDisk(name, description, size, iops, type, raid, backupLimit);
        if (vm is not null)
        {
            Attach(vm, disk);
        }

        return Ok(new DiskIdModel(disk.Id));
    }

    private static void CheckDiskSize(int size)
    {
        if (size is < 1 or > MaxDiskSizeGb)
        {
            throw ApiError.BadRequest(string.Create(CultureInfo.InvariantCulture, $"disk_size must be between 1 and {MaxDiskSizeGb} GB, not {size}"));
        }
    }

    /// <summary>Makes a disk record and its sparse file (the caller holds the lock).</summary>
    private DiskRecord NewDisk(string name, string description, int sizeGb, int iops, string type, string? raid = null, double? backupLimit = null)
    {
        var id = NextId();
        var path = Path.Combine(DisksFolder, string.Create(CultureInfo.InvariantCulture, $"disk-{id}.raw"));
        using (var file = new FileStream(path, FileMode.CreateNew, FileAccess.Write, FileShare.None))
        {
            file.SetLength(sizeGb * BytesPerGb);
        }

        var disk = new DiskRecord
        {
            Id = id,
            Name = name,
            Description = description,
            SizeGb = sizeGb,
            Iops = iops,
            DiskType = type,
            Path = path,
            RaidLevel = raid,
            BackupSizeLimit = backupLimit,
            Transition = TransitionTo("CREATING"),
        };
        _disks.Add(id, disk);
        return disk;
    }

    private async Task<IResult> GetDiskAsync(ApiCall call)
    {
        using var _ = await LockAsync(call.Aborted).ConfigureAwait(false);
        var disk = FindDisk(call.RouteInt("disk_id"), includeDeleted: true);
        return Ok(new DiskModel
        {
            Status = disk.ReportedStatus(UtcNow),
            DiskSize = disk.SizeGb,
            DiskName = disk.Name,
            Description = disk.Description,
            Exposed = disk.Exposure is not null,
            DiskId = disk.Id,
            DiskType = disk.DiskType,
            Order = Order(disk),
            VmId = disk.VmId,
            CloudspaceId = Options.CloudspaceId,
            Iotune = new DiskModelIotune(disk.Iops),
        });
    }

    private async Task<IResult> DeleteDiskAsync(ApiCall call)
    {
        var detach = call.Query.Bool("detach", true);
        var permanently = call.Query.Bool("permanently", false);
        using var _ = await LockAsync(call.Aborted).ConfigureAwait(false);
        var disk = FindDisk(call.RouteInt("disk_id"), includeDeleted: permanently);
        if (disk.Exposure is not null)
        {
            throw ApiError.Conflict($"Disk {disk.Id} is exposed; unexpose it first");
        }

        if (disk.VmId is { } vmId)
        {
            if (!detach)
            {
                throw ApiError.Conflict($"Disk {disk.Id} is attached to virtual machine {vmId}; detach it first or pass detach=true");
            }

            Detach(_vms[vmId], disk);
        }

        if (permanently)
        {
            _disks.Remove(disk.Id);
            File.Delete(disk.Path);
        }
        else
        {
            disk.DeletionTime = Options.TimeProvider.GetUtcNow();
        }

        return Success();
    }

    private async Task<IResult> ResizeDiskAsync(ApiCall call)
    {
        var size = call.Query.RequiredInt("disk_size");
        CheckDiskSize(size);
        using var _ = await LockAsync(call.Aborted).ConfigureAwait(false);
        var disk = FindDisk(call.RouteInt("disk_id"));
        if (size < disk.SizeGb)
        {
            throw ApiError.BadRequest(string.Create(CultureInfo.InvariantCulture, $"Disk {disk.Id} cannot shrink from {disk.SizeGb} GB to {size} GB"));
        }

        if (disk.Exposure is not null)
        {
            throw ApiError.Conflict($"Disk {disk.Id} is exposed; unexpose it before resizing");
        }

        using (var file = new FileStream(disk.Path, FileMode.Open, FileAccess.Write, FileShare.None))
        {
            file.SetLength(size * BytesPerGb);
        }

        disk.SizeGb = size;
        return Success();
    }

    /// <summary>Refuses to use a disk the platform would still be creating.</summary>
    private void RequireReady(DiskRecord disk)
    {
        if (disk.IsTransitioning(UtcNow))
        {
            throw ApiError.Conflict($"Disk {disk.Id} is {disk.ReportedStatus(UtcNow)}; wait until it is {disk.Status}");
        }
    }

    private DiskRecord FindDisk(int id, bool includeDeleted = false) =>
        _disks.TryGetValue(id, out var disk) && (includeDeleted || disk.DeletionTime is null) ? disk : throw ApiError.NotFound("Disk", id);

    private static string Order(DiskRecord disk) => disk.DiskType == "BOOT" ? "0" : "1";
}
