using Refit;
using Whitesky.Api.Models;

namespace Whitesky.Api.Apis;

/// <summary>Virtual machines of a cloudspace, their disks and CD-ROMs, and S3 import/export.</summary>
public interface IVirtualMachinesApi
{
    /// <summary>Lists the VMs of a cloudspace (<c>listCloudspaceVirtualMachines</c>).</summary>
    /// <param name="customerId">The customer.</param>
    /// <param name="cloudspaceId">The cloudspace.</param>
    /// <param name="query">Filters; null members are not sent.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <returns>The VMs.</returns>
    [Get("/customers/{customer_id}/cloudspaces/{cloudspace_id}/vms")]
    [WhiteskyOperation("listCloudspaceVirtualMachines")]
    Task<VirtualMachineList> ListVirtualMachinesAsync(
        [AliasAs("customer_id")] string customerId,
        [AliasAs("cloudspace_id")] string cloudspaceId,
        [Query] ListVirtualMachinesQuery? query = null,
        CancellationToken cancellationToken = default);

    /// <summary>Creates a VM (<c>createVirtualMachine</c>); memory is in MiB.</summary>
    /// <param name="customerId">The customer.</param>
    /// <param name="cloudspaceId">The cloudspace.</param>
    /// <param name="request">The VM, sent as query parameters.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <returns>The new VM's id.</returns>
    [Post("/customers/{customer_id}/cloudspaces/{cloudspace_id}/vms")]
    [WhiteskyOperation("createVirtualMachine")]
    Task<VmIdResult> CreateVirtualMachineAsync(
        [AliasAs("customer_id")] string customerId,
        [AliasAs("cloudspace_id")] string cloudspaceId,
        [Query] CreateVirtualMachineRequest request,
        CancellationToken cancellationToken = default);

    /// <summary>Reads one VM (<c>getVirtualMachineInfo</c>).</summary>
    /// <param name="customerId">The customer.</param>
    /// <param name="cloudspaceId">The cloudspace.</param>
    /// <param name="vmId">The VM.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <returns>The VM.</returns>
    [Get("/customers/{customer_id}/cloudspaces/{cloudspace_id}/vms/{vm_id}")]
    [WhiteskyOperation("getVirtualMachineInfo")]
    Task<VirtualMachineInfo> GetVirtualMachineInfoAsync(
        [AliasAs("customer_id")] string customerId,
        [AliasAs("cloudspace_id")] string cloudspaceId,
        [AliasAs("vm_id")] long vmId,
        CancellationToken cancellationToken = default);

    /// <summary>Deletes a VM (<c>deleteVirtualMachine</c>).</summary>
    /// <param name="customerId">The customer.</param>
    /// <param name="cloudspaceId">The cloudspace.</param>
    /// <param name="vmId">The VM.</param>
    /// <param name="permanently">Delete for good instead of moving it to the recycle bin.</param>
    /// <param name="detachDisks">Detach the disks first (they survive).</param>
    /// <param name="detachGpu">Detach the GPU first.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <returns>Whether it succeeded.</returns>
    [Delete("/customers/{customer_id}/cloudspaces/{cloudspace_id}/vms/{vm_id}")]
    [WhiteskyOperation("deleteVirtualMachine")]
    Task<SuccessResult> DeleteVirtualMachineAsync(
        [AliasAs("customer_id")] string customerId,
        [AliasAs("cloudspace_id")] string cloudspaceId,
        [AliasAs("vm_id")] long vmId,
        [AliasAs("permanently")] bool? permanently = null,
        [AliasAs("detach_disks")] bool? detachDisks = null,
        [AliasAs("detach_gpu")] bool? detachGpu = null,
        CancellationToken cancellationToken = default);

    /// <summary>Starts a VM (<c>startVirtualMachine</c>).</summary>
    /// <param name="customerId">The customer.</param>
    /// <param name="cloudspaceId">The cloudspace.</param>
    /// <param name="vmId">The VM.</param>
    /// <param name="rescueDiskId">Boot from this rescue disk.</param>
    /// <param name="tpmSecret">The TPM secret (never logged).</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <returns>Whether it succeeded.</returns>
    [Post("/customers/{customer_id}/cloudspaces/{cloudspace_id}/vms/{vm_id}/start")]
    [WhiteskyOperation("startVirtualMachine")]
    Task<SuccessResult> StartVirtualMachineAsync(
        [AliasAs("customer_id")] string customerId,
        [AliasAs("cloudspace_id")] string cloudspaceId,
        [AliasAs("vm_id")] long vmId,
        [AliasAs("rescue_disk_id")] long? rescueDiskId = null,
        [AliasAs("tpm_secret")] string? tpmSecret = null,
        CancellationToken cancellationToken = default);

    /// <summary>Stops a VM (<c>stopVirtualMachine</c>).</summary>
    /// <param name="customerId">The customer.</param>
    /// <param name="cloudspaceId">The cloudspace.</param>
    /// <param name="vmId">The VM.</param>
    /// <param name="force">Force the stop.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <returns>Whether it succeeded.</returns>
    [Post("/customers/{customer_id}/cloudspaces/{cloudspace_id}/vms/{vm_id}/stop")]
    [WhiteskyOperation("stopVirtualMachine")]
    Task<SuccessResult> StopVirtualMachineAsync(
        [AliasAs("customer_id")] string customerId,
        [AliasAs("cloudspace_id")] string cloudspaceId,
        [AliasAs("vm_id")] long vmId,
        [AliasAs("force")] bool? force = null,
        CancellationToken cancellationToken = default);

    /// <summary>Lists a VM's disks (<c>listDisksVirtualMachine</c>).</summary>
    /// <param name="customerId">The customer.</param>
    /// <param name="cloudspaceId">The cloudspace.</param>
    /// <param name="vmId">The VM.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <returns>The disks.</returns>
    [Get("/customers/{customer_id}/cloudspaces/{cloudspace_id}/vms/{vm_id}/disks")]
    [WhiteskyOperation("listDisksVirtualMachine")]
    Task<VirtualMachineDiskList> ListVirtualMachineDisksAsync(
        [AliasAs("customer_id")] string customerId,
        [AliasAs("cloudspace_id")] string cloudspaceId,
        [AliasAs("vm_id")] long vmId,
        CancellationToken cancellationToken = default);

    /// <summary>Attaches a disk to a VM (<c>attachDiskVirtualMachine</c>).</summary>
    /// <param name="customerId">The customer.</param>
    /// <param name="cloudspaceId">The cloudspace.</param>
    /// <param name="vmId">The VM.</param>
    /// <param name="diskId">The disk.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <returns>Whether it succeeded.</returns>
    [Post("/customers/{customer_id}/cloudspaces/{cloudspace_id}/vms/{vm_id}/disks")]
    [WhiteskyOperation("attachDiskVirtualMachine")]
    Task<SuccessResult> AttachDiskAsync(
        [AliasAs("customer_id")] string customerId,
        [AliasAs("cloudspace_id")] string cloudspaceId,
        [AliasAs("vm_id")] long vmId,
        [AliasAs("disk_id")] long diskId,
        CancellationToken cancellationToken = default);

    /// <summary>Detaches a disk from a VM (<c>detachDiskVirtualMachine</c>).</summary>
    /// <param name="customerId">The customer.</param>
    /// <param name="cloudspaceId">The cloudspace.</param>
    /// <param name="vmId">The VM.</param>
    /// <param name="diskId">The disk.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <returns>Whether it succeeded.</returns>
    [Delete("/customers/{customer_id}/cloudspaces/{cloudspace_id}/vms/{vm_id}/disks/{disk_id}")]
    [WhiteskyOperation("detachDiskVirtualMachine")]
    Task<SuccessResult> DetachDiskAsync(
        [AliasAs("customer_id")] string customerId,
        [AliasAs("cloudspace_id")] string cloudspaceId,
        [AliasAs("vm_id")] long vmId,
        [AliasAs("disk_id")] long diskId,
        CancellationToken cancellationToken = default);

    /// <summary>Sets the VM's boot disk (<c>SetBootDisk</c>).</summary>
    /// <param name="customerId">The customer.</param>
    /// <param name="cloudspaceId">The cloudspace.</param>
    /// <param name="vmId">The VM.</param>
    /// <param name="diskId">The disk to boot from.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <returns>Whether it succeeded.</returns>
    [Put("/customers/{customer_id}/cloudspaces/{cloudspace_id}/vms/{vm_id}/boot-disk")]
    [WhiteskyOperation("SetBootDisk")]
    Task<SuccessResult> SetBootDiskAsync(
        [AliasAs("customer_id")] string customerId,
        [AliasAs("cloudspace_id")] string cloudspaceId,
        [AliasAs("vm_id")] long vmId,
        [AliasAs("disk_id")] long? diskId,
        CancellationToken cancellationToken = default);

    /// <summary>Sets the VM's boot type (<c>SetBootType</c>).</summary>
    /// <param name="customerId">The customer.</param>
    /// <param name="cloudspaceId">The cloudspace.</param>
    /// <param name="vmId">The VM.</param>
    /// <param name="bootType">The new boot type.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <returns>Whether anything changed.</returns>
    [Put("/customers/{customer_id}/cloudspaces/{cloudspace_id}/vms/{vm_id}/boot-type")]
    [WhiteskyOperation("SetBootType")]
    Task<ChangedResult> SetBootTypeAsync(
        [AliasAs("customer_id")] string customerId,
        [AliasAs("cloudspace_id")] string cloudspaceId,
        [AliasAs("vm_id")] long vmId,
        [AliasAs("boot_type")] BootType bootType,
        CancellationToken cancellationToken = default);

    /// <summary>Attaches a CD-ROM image to a VM (<c>attachVirtualMachineCDROM</c>).</summary>
    /// <param name="customerId">The customer.</param>
    /// <param name="cloudspaceId">The cloudspace.</param>
    /// <param name="vmId">The VM.</param>
    /// <param name="cdromId">The CD-ROM image.</param>
    /// <param name="backupSnapshotRatio">Backup size limit.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <returns>Whether it succeeded.</returns>
    [Post("/customers/{customer_id}/cloudspaces/{cloudspace_id}/vms/{vm_id}/cdrom-images")]
    [WhiteskyOperation("attachVirtualMachineCDROM")]
    Task<SuccessResult> AttachCdromAsync(
        [AliasAs("customer_id")] string customerId,
        [AliasAs("cloudspace_id")] string cloudspaceId,
        [AliasAs("vm_id")] long vmId,
        [AliasAs("cdrom_id")] long cdromId,
        [AliasAs("backup_snapshot_ratio")] double? backupSnapshotRatio = null,
        CancellationToken cancellationToken = default);

    /// <summary>Detaches a CD-ROM image from a VM (<c>detachVirtualMachineCDROM</c>).</summary>
    /// <param name="customerId">The customer.</param>
    /// <param name="cloudspaceId">The cloudspace.</param>
    /// <param name="vmId">The VM.</param>
    /// <param name="cdromId">The CD-ROM image.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <returns>Whether it succeeded.</returns>
    [Delete("/customers/{customer_id}/cloudspaces/{cloudspace_id}/vms/{vm_id}/cdrom-images/{cdrom_id}")]
    [WhiteskyOperation("detachVirtualMachineCDROM")]
    Task<SuccessResult> DetachCdromAsync(
        [AliasAs("customer_id")] string customerId,
        [AliasAs("cloudspace_id")] string cloudspaceId,
        [AliasAs("vm_id")] long vmId,
        [AliasAs("cdrom_id")] long cdromId,
        CancellationToken cancellationToken = default);

    /// <summary>Imports a VM from an OVF/OVA object in S3 (<c>createVirtualMachineFromS3WithPayload</c>).</summary>
    /// <param name="customerId">The customer.</param>
    /// <param name="cloudspaceId">The cloudspace.</param>
    /// <param name="payload">Where the object is and the VM to create.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <returns>The new VM's id; its status reports the import's progress.</returns>
    [Post("/customers/{customer_id}/cloudspaces/{cloudspace_id}/vms/import-vm-s3")]
    [WhiteskyOperation("createVirtualMachineFromS3WithPayload")]
    Task<VmIdResult> ImportVirtualMachineFromS3Async(
        [AliasAs("customer_id")] string customerId,
        [AliasAs("cloudspace_id")] string cloudspaceId,
        [Body] ImportVmFromS3Request payload,
        CancellationToken cancellationToken = default);

    /// <summary>Exports a VM to S3 (<c>exportVirtualMachineToS3WithPayload</c>).</summary>
    /// <param name="customerId">The customer.</param>
    /// <param name="cloudspaceId">The cloudspace.</param>
    /// <param name="vmId">The VM.</param>
    /// <param name="payload">Where to write the object.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <returns>Whether it succeeded.</returns>
    [Post("/customers/{customer_id}/cloudspaces/{cloudspace_id}/vms/{vm_id}/export-vm-s3")]
    [WhiteskyOperation("exportVirtualMachineToS3WithPayload")]
    Task<SuccessResult> ExportVirtualMachineToS3Async(
        [AliasAs("customer_id")] string customerId,
        [AliasAs("cloudspace_id")] string cloudspaceId,
        [AliasAs("vm_id")] long vmId,
        [Body] ExportVmToS3Request payload,
        CancellationToken cancellationToken = default);
}
