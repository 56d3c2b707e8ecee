namespace Whitesky.Migration.Ovf;

/// <summary>A hard disk item (ResourceType 17).</summary>
/// <param name="InstanceId">The <c>rasd:InstanceID</c>.</param>
/// <param name="ElementName">The item's name (<c>Hard disk 1</c>).</param>
/// <param name="DiskId">The DiskSection id its <c>rasd:HostResource</c> names (<c>ovf:/disk/ID</c>), or null.</param>
/// <param name="ControllerId">The controller's InstanceID (<c>rasd:Parent</c>), or null.</param>
/// <param name="ControllerKind">The controller's bus, or <see cref="OvfControllerKind.Other"/> when unknown.</param>
/// <param name="AddressOnParent">The <c>rasd:AddressOnParent</c> (unit number), used for the disk order.</param>
public sealed record OvfDiskDrive(string InstanceId, string? ElementName, string? DiskId, string? ControllerId, OvfControllerKind ControllerKind, int? AddressOnParent);
