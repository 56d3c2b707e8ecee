using Whitesky.Api.Models;

namespace Whitesky.Api;

public partial class WhiteskyClient
{
    /// <summary>Gets a fresh JWT for the calling user (<c>getCurrentUserJWT</c>).</summary>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <returns>The JWT (unquoted). Treat it as a secret.</returns>
    public virtual async Task<string> GetCurrentUserJwtAsync(CancellationToken cancellationToken = default)
    {
        var body = await Me.GetCurrentUserJwtAsync(cancellationToken).ConfigureAwait(false);
        return Auth.JwtToken.ParseRefreshAnswer(body) ?? body.Trim();
    }

    /// <summary>Lists the customer's locations (<c>listCustomerLocations</c>).</summary>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <returns>The currency and one entry per location.</returns>
    public virtual Task<LocationPricing> ListLocationsAsync(CancellationToken cancellationToken = default) =>
        Locations.ListCustomerLocationsAsync(Customer, cancellationToken);

    /// <summary>Lists the customer's cloudspaces (<c>listCloudspaces</c>).</summary>
    /// <param name="query">Filters, or null for the platform's defaults.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <returns>The cloudspaces.</returns>
    public virtual Task<CloudspaceList> ListCloudspacesAsync(ListCloudspacesQuery? query = null, CancellationToken cancellationToken = default) =>
        Cloudspaces.ListCloudspacesAsync(Customer, query, cancellationToken);

    /// <summary>Lists the disks of the location (<c>listDisks</c>).</summary>
    /// <param name="includeDeleted">Include deleted disks.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <returns>The disks.</returns>
    public virtual async Task<IReadOnlyList<DiskSummary>> ListDisksAsync(bool? includeDeleted = null, CancellationToken cancellationToken = default) =>
        (await Disks.ListDisksAsync(Customer, Loc, includeDeleted, null, cancellationToken).ConfigureAwait(false)).Result ?? [];

    /// <summary>Creates a disk in the location (<c>createDisk</c>).</summary>
    /// <param name="request">The disk; its size is in GB.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <returns>The new disk's id.</returns>
    public virtual async Task<long> CreateDiskAsync(CreateDiskRequest request, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(request);
        var result = await Disks.CreateDiskAsync(Customer, Loc, request, cancellationToken).ConfigureAwait(false);
        return result.DiskId ?? throw MissingField("createDisk", "disk_id");
    }

    /// <summary>Reads a disk (<c>getDiskInfo</c>).</summary>
    /// <param name="diskId">The disk.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <returns>The disk.</returns>
    public virtual Task<DiskInfo> GetDiskAsync(long diskId, CancellationToken cancellationToken = default) =>
        Disks.GetDiskInfoAsync(Customer, Loc, diskId, cancellationToken);

    /// <summary>Deletes a disk (<c>deleteDisk</c>).</summary>
    /// <param name="diskId">The disk.</param>
    /// <param name="detach">Detach it from its VM first (platform default: true).</param>
    /// <param name="permanently">Delete for good instead of moving it to the recycle bin.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <returns>Whether the platform reported success.</returns>
    public virtual async Task<bool> DeleteDiskAsync(long diskId, bool? detach = null, bool? permanently = null, CancellationToken cancellationToken = default) =>
        (await Disks.DeleteDiskAsync(Customer, Loc, diskId, detach, permanently, cancellationToken).ConfigureAwait(false)).Success ?? true;

    /// <summary>Grows a disk (<c>resizeDisk</c>).</summary>
    /// <param name="diskId">The disk.</param>
    /// <param name="diskSizeGb">The new size in GiB.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <returns>Whether the platform reported success.</returns>
    public virtual async Task<bool> ResizeDiskAsync(long diskId, long diskSizeGb, CancellationToken cancellationToken = default) =>
        (await Disks.ResizeDiskAsync(Customer, Loc, diskId, diskSizeGb, cancellationToken).ConfigureAwait(false)).Success ?? true;

    /// <summary>Lists the disks exposed through the cloudspace (<c>listExposedDisks</c>).</summary>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <returns>The exposed disks.</returns>
    public virtual async Task<IReadOnlyList<ExposedDisk>> ListExposedDisksAsync(CancellationToken cancellationToken = default) =>
        (await ExposedDisks.ListExposedDisksAsync(Customer, Cloudspace, cancellationToken).ConfigureAwait(false)).Result ?? [];

    /// <summary>Exposes a disk over NBD with TLS-PSK (<c>exposeDisk</c>).</summary>
    /// <param name="diskId">The disk.</param>
    /// <param name="maxConnections">Maximum concurrent NBD connections (multi-conn), or null for the platform's default.</param>
    /// <param name="iops">IOPS limit, or null for the platform's default.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <returns>The protocol and endpoint; <see cref="DiskExposureEndpoint.Psk"/> is the TLS key (a secret).</returns>
    public virtual Task<DiskExposure> ExposeDiskAsync(long diskId, long? maxConnections = null, long? iops = null, CancellationToken cancellationToken = default) =>
        ExposedDisks.ExposeDiskAsync(Customer, Cloudspace, diskId, iops, maxConnections, cancellationToken);

    /// <summary>Stops exposing a disk (<c>unexposeDisk</c>).</summary>
    /// <param name="diskId">The disk.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <returns>Whether the platform reported success.</returns>
    public virtual async Task<bool> UnexposeDiskAsync(long diskId, CancellationToken cancellationToken = default) =>
        (await ExposedDisks.UnexposeDiskAsync(Customer, Cloudspace, diskId, cancellationToken).ConfigureAwait(false)).Success ?? true;

    /// <summary>Lists the cloudspace's VMs (<c>listCloudspaceVirtualMachines</c>).</summary>
    /// <param name="query">Filters, or null for the platform's defaults.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <returns>The VMs.</returns>
    public virtual async Task<IReadOnlyList<VirtualMachineSummary>> ListVirtualMachinesAsync(ListVirtualMachinesQuery? query = null, CancellationToken cancellationToken = default) =>
        (await VirtualMachines.ListVirtualMachinesAsync(Customer, Cloudspace, query, cancellationToken).ConfigureAwait(false)).Result ?? [];

    /// <summary>Creates a VM in the cloudspace (<c>createVirtualMachine</c>).</summary>
    /// <param name="request">The VM; memory in MiB.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <returns>The new VM's id.</returns>
    public virtual async Task<long> CreateVirtualMachineAsync(CreateVirtualMachineRequest request, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(request);
        var result = await VirtualMachines.CreateVirtualMachineAsync(Customer, Cloudspace, request, cancellationToken).ConfigureAwait(false);
        return result.VmId ?? throw MissingField("createVirtualMachine", "vm_id");
    }

    /// <summary>Reads a VM (<c>getVirtualMachineInfo</c>).</summary>
    /// <param name="vmId">The VM.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <returns>The VM.</returns>
    public virtual Task<VirtualMachineInfo> GetVirtualMachineAsync(long vmId, CancellationToken cancellationToken = default) =>
        VirtualMachines.GetVirtualMachineInfoAsync(Customer, Cloudspace, vmId, cancellationToken);

    /// <summary>Deletes a VM (<c>deleteVirtualMachine</c>).</summary>
    /// <param name="vmId">The VM.</param>
    /// <param name="permanently">Delete for good instead of moving it to the recycle bin.</param>
    /// <param name="detachDisks">Detach (and keep) the disks first.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <returns>Whether the platform reported success.</returns>
    public virtual async Task<bool> DeleteVirtualMachineAsync(long vmId, bool? permanently = null, bool? detachDisks = null, CancellationToken cancellationToken = default) =>
        (await VirtualMachines.DeleteVirtualMachineAsync(Customer, Cloudspace, vmId, permanently, detachDisks, null, cancellationToken).ConfigureAwait(false)).Success ?? true;

    /// <summary>Starts a VM (<c>startVirtualMachine</c>).</summary>
    /// <param name="vmId">The VM.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <returns>Whether the platform reported success.</returns>
    public virtual async Task<bool> StartVirtualMachineAsync(long vmId, CancellationToken cancellationToken = default) =>
        (await VirtualMachines.StartVirtualMachineAsync(Customer, Cloudspace, vmId, null, null, cancellationToken).ConfigureAwait(false)).Success ?? true;

    /// <summary>Stops a VM (<c>stopVirtualMachine</c>).</summary>
    /// <param name="vmId">The VM.</param>
    /// <param name="force">Force the stop.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <returns>Whether the platform reported success.</returns>
    public virtual async Task<bool> StopVirtualMachineAsync(long vmId, bool? force = null, CancellationToken cancellationToken = default) =>
        (await VirtualMachines.StopVirtualMachineAsync(Customer, Cloudspace, vmId, force, cancellationToken).ConfigureAwait(false)).Success ?? true;

    /// <summary>Lists a VM's disks (<c>listDisksVirtualMachine</c>).</summary>
    /// <param name="vmId">The VM.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <returns>The disks.</returns>
    public virtual async Task<IReadOnlyList<VirtualMachineDisk>> ListVirtualMachineDisksAsync(long vmId, CancellationToken cancellationToken = default) =>
        (await VirtualMachines.ListVirtualMachineDisksAsync(Customer, Cloudspace, vmId, cancellationToken).ConfigureAwait(false)).Result ?? [];

    /// <summary>Attaches a disk to a VM (<c>attachDiskVirtualMachine</c>).</summary>
    /// <param name="vmId">The VM.</param>
    /// <param name="diskId">The disk.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <returns>Whether the platform reported success.</returns>
    public virtual async Task<bool> AttachDiskAsync(long vmId, long diskId, CancellationToken cancellationToken = default) =>
        (await VirtualMachines.AttachDiskAsync(Customer, Cloudspace, vmId, diskId, cancellationToken).ConfigureAwait(false)).Success ?? true;

    /// <summary>Detaches a disk from a VM (<c>detachDiskVirtualMachine</c>).</summary>
    /// <param name="vmId">The VM.</param>
    /// <param name="diskId">The disk.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <returns>Whether the platform reported success.</returns>
    public virtual async Task<bool> DetachDiskAsync(long vmId, long diskId, CancellationToken cancellationToken = default) =>
        (await VirtualMachines.DetachDiskAsync(Customer, Cloudspace, vmId, diskId, cancellationToken).ConfigureAwait(false)).Success ?? true;

    /// <summary>Sets a VM's boot disk (<c>SetBootDisk</c>).</summary>
    /// <param name="vmId">The VM.</param>
    /// <param name="diskId">The disk to boot from.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <returns>Whether the platform reported success.</returns>
    public virtual async Task<bool> SetBootDiskAsync(long vmId, long diskId, CancellationToken cancellationToken = default) =>
        (await VirtualMachines.SetBootDiskAsync(Customer, Cloudspace, vmId, diskId, cancellationToken).ConfigureAwait(false)).Success ?? true;

    /// <summary>Sets a VM's boot type (<c>SetBootType</c>).</summary>
    /// <param name="vmId">The VM.</param>
    /// <param name="bootType">The boot type.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <returns>Whether anything changed.</returns>
    public virtual async Task<bool> SetBootTypeAsync(long vmId, BootType bootType, CancellationToken cancellationToken = default) =>
        (await VirtualMachines.SetBootTypeAsync(Customer, Cloudspace, vmId, bootType, cancellationToken).ConfigureAwait(false)).Changed ?? false;

    /// <summary>Attaches a CD-ROM image to a VM (<c>attachVirtualMachineCDROM</c>).</summary>
    /// <param name="vmId">The VM.</param>
    /// <param name="cdromId">The CD-ROM image.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <returns>Whether the platform reported success.</returns>
    public virtual async Task<bool> AttachCdromAsync(long vmId, long cdromId, CancellationToken cancellationToken = default) =>
        (await VirtualMachines.AttachCdromAsync(Customer, Cloudspace, vmId, cdromId, null, cancellationToken).ConfigureAwait(false)).Success ?? true;

    /// <summary>Detaches a CD-ROM image from a VM (<c>detachVirtualMachineCDROM</c>).</summary>
    /// <param name="vmId">The VM.</param>
    /// <param name="cdromId">The CD-ROM image.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <returns>Whether the platform reported success.</returns>
    public virtual async Task<bool> DetachCdromAsync(long vmId, long cdromId, CancellationToken cancellationToken = default) =>
        (await VirtualMachines.DetachCdromAsync(Customer, Cloudspace, vmId, cdromId, cancellationToken).ConfigureAwait(false)).Success ?? true;

    /// <summary>Imports a VM from an OVF/OVA object in S3 (<c>createVirtualMachineFromS3WithPayload</c>).</summary>
    /// <param name="request">The S3 location and credentials and the VM to create.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <returns>The new VM's id; its status reports the import's progress.</returns>
    public virtual async Task<long> ImportVirtualMachineFromS3Async(ImportVmFromS3Request request, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(request);
        var result = await VirtualMachines.ImportVirtualMachineFromS3Async(Customer, Cloudspace, request, cancellationToken).ConfigureAwait(false);
        return result.VmId ?? throw MissingField("createVirtualMachineFromS3WithPayload", "vm_id");
    }

    /// <summary>Exports a VM to S3 (<c>exportVirtualMachineToS3WithPayload</c>).</summary>
    /// <param name="vmId">The VM.</param>
    /// <param name="request">Where to write and with which credentials.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <returns>Whether the platform reported success.</returns>
    public virtual async Task<bool> ExportVirtualMachineToS3Async(long vmId, ExportVmToS3Request request, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(request);
        return (await VirtualMachines.ExportVirtualMachineToS3Async(Customer, Cloudspace, vmId, request, cancellationToken).ConfigureAwait(false)).Success ?? true;
    }

    /// <summary>Reads a CD-ROM image of the location (<c>getCDROMInfo</c>).</summary>
    /// <param name="cdromId">The CD-ROM image.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <returns>The image.</returns>
    public virtual Task<ImageInfo> GetCdromAsync(long cdromId, CancellationToken cancellationToken = default) =>
        CdromImages.GetCdromInfoAsync(Customer, Loc, cdromId, null, cancellationToken);

    /// <summary>Deletes a CD-ROM image (<c>deleteCustomerCDROMImage</c>).</summary>
    /// <param name="cdromId">The CD-ROM image.</param>
    /// <param name="permanently">Delete for good instead of moving it to the recycle bin.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <returns>Whether the platform reported success.</returns>
    public virtual async Task<bool> DeleteCdromAsync(long cdromId, bool? permanently = null, CancellationToken cancellationToken = default) =>
        (await CdromImages.DeleteCdromAsync(Customer, Loc, cdromId, permanently, cancellationToken).ConfigureAwait(false)).Success ?? true;

    /// <summary>Lists the cloudspace's DNS records (<c>getCloudspaceDnsRecords</c>).</summary>
    /// <param name="cloudspaceOnly">Only the cloudspace's own domains.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <returns>The records.</returns>
    public virtual async Task<IReadOnlyList<DnsRecord>> ListDnsRecordsAsync(bool? cloudspaceOnly = null, CancellationToken cancellationToken = default) =>
        (await Dns.ListDnsRecordsAsync(Customer, Cloudspace, cloudspaceOnly, cancellationToken).ConfigureAwait(false)).Result ?? [];

    /// <summary>Adds a DNS record to the cloudspace (<c>AddCloudspaceDomain</c>).</summary>
    /// <param name="request">The record.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <returns>Whether the platform reported success.</returns>
    public virtual async Task<bool> AddDnsRecordAsync(AddDnsRecordRequest request, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(request);
        return (await Dns.AddDnsRecordAsync(Customer, Cloudspace, request, cancellationToken).ConfigureAwait(false)).Success ?? true;
    }

    /// <summary>Deletes a DNS record (<c>DeleteCloudspaceDnsRecord</c>).</summary>
    /// <param name="domain">The domain.</param>
    /// <param name="recordType">The record type (A, AAAA, CNAME, ...).</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <returns>Whether the platform reported success.</returns>
    public virtual async Task<bool> DeleteDnsRecordAsync(string domain, string recordType, CancellationToken cancellationToken = default) =>
        (await Dns.DeleteDnsRecordAsync(Customer, Cloudspace, domain, recordType, cancellationToken).ConfigureAwait(false)).Success ?? true;

    private static WhiteskyApiException MissingField(string operationId, string field) =>
        new(operationId, System.Net.HttpStatusCode.OK, $"the answer has no '{field}'", null);
}
