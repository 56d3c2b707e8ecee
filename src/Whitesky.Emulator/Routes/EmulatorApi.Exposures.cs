using Microsoft.AspNetCore.Http;
using Whitesky.Emulator.Exposure;
using Whitesky.Emulator.Http;
using Whitesky.Emulator.Models;

namespace Whitesky.Emulator.Routes;

internal sealed partial class EmulatorApi
{
    /// <summary>The most connections an exposure may allow (the NBD client's multi-conn limit).</summary>
    private const int MaxExposeConnections = 64;

    private void MapExposures()
    {
        const string Exposed = "/customers/{customer_id}/cloudspaces/{cloudspace_id}/exposed-disks";
        Op("GET", Exposed, "listExposedDisks", ListExposedAsync);
        Op("POST", Exposed, "exposeDisk", ExposeAsync);
        Op("DELETE", Exposed + "/{disk_id}", "unexposeDisk", UnexposeAsync);
    }

    private async Task<IResult> ListExposedAsync(ApiCall call)
    {
        using var _ = await LockAsync(call.Aborted).ConfigureAwait(false);
        var result = _disks.Values.Where(d => d.Exposure is not null).OrderBy(d => d.Id).Select(d => new ExposedDiskStruct(d.Id)).ToList();
        return Ok(new ResultList<ExposedDiskStruct>(result));
    }

    private async Task<IResult> ExposeAsync(ApiCall call)
    {
        var diskId = call.Query.RequiredInt("disk_id");
        call.Query.Int("iops");
        var maxConnections = call.Query.Int("max_connections");
        if (maxConnections is < 1 or > MaxExposeConnections)
        {
            throw ApiError.BadRequest($"max_connections must be between 1 and {MaxExposeConnections}");
        }

        using var _ = await LockAsync(call.Aborted).ConfigureAwait(false);
        var disk = FindDisk(diskId);
        RequireReady(disk);
        if (disk.Exposure is not null)
        {
            throw ApiError.Conflict($"Disk {disk.Id} is already exposed");
        }

        if (disk.VmId is { } vmId && _vms[vmId].Status == State.VmStatus.Running)
        {
            throw ApiError.Conflict($"Disk {disk.Id} is attached to running virtual machine {vmId}; stop it first");
        }

        var exposure = await DiskExposure.StartAsync(disk.Id, disk.Path, maxConnections, Faults, Options.LoggerFactory, call.Aborted).ConfigureAwait(false);
        disk.Exposure = exposure;
        return Ok(new ExposeDiskModel("nbd", new ExposeDiskModelEndpoint
        {
            Psk = exposure.PskHex,
            User = exposure.Identity,
            Port = exposure.Port,
            Name = exposure.ExportName,
            Address = "127.0.0.1",
            PrivatePort = exposure.PrivatePort,
            PrivateAddress = "127.0.0.1",
        }));
    }

    private async Task<IResult> UnexposeAsync(ApiCall call)
    {
        using var _ = await LockAsync(call.Aborted).ConfigureAwait(false);
        var disk = FindDisk(call.RouteInt("disk_id"));
        var exposure = disk.Exposure ?? throw new ApiError(404, $"Disk {disk.Id} is not exposed");
        disk.Exposure = null;
        await exposure.DisposeAsync().ConfigureAwait(false);
        return Success();
    }
}
