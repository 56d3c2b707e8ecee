namespace Whitesky.Migration.Ovf;

/// <summary>The bus of a disk controller.</summary>
public enum OvfControllerKind
{
    /// <summary>A controller this SDK does not classify.</summary>
    Other,

    /// <summary>IDE (ResourceType 5).</summary>
    Ide,

    /// <summary>Parallel SCSI (ResourceType 6): lsilogic, buslogic, lsilogicsas, VirtualSCSI.</summary>
    Scsi,

    /// <summary>SATA/AHCI (ResourceType 20, subtype AHCI / vmware.sata.ahci).</summary>
    Sata,

    /// <summary>NVMe (ResourceType 20, subtype vmware.nvme.controller / NVMe).</summary>
    Nvme,
}

/// <summary>A disk controller item.</summary>
/// <param name="InstanceId">The <c>rasd:InstanceID</c> disks name as their <c>rasd:Parent</c>.</param>
/// <param name="Kind">The bus.</param>
/// <param name="SubType">The <c>rasd:ResourceSubType</c> (for example <c>lsilogic</c>, <c>PIIX4</c>, <c>vmware.sata.ahci</c>).</param>
/// <param name="Address">The <c>rasd:Address</c> (bus number), when given.</param>
public sealed record OvfController(string InstanceId, OvfControllerKind Kind, string? SubType, string? Address);
