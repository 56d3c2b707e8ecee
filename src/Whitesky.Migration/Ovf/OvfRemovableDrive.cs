namespace Whitesky.Migration.Ovf;

/// <summary>The kind of a removable drive.</summary>
public enum OvfRemovableDriveKind
{
    /// <summary>CD or DVD drive (ResourceType 15 or 16).</summary>
    CdDvd,

    /// <summary>Floppy drive (ResourceType 14).</summary>
    Floppy,
}

/// <summary>A CD/DVD or floppy drive item.</summary>
/// <param name="InstanceId">The <c>rasd:InstanceID</c>.</param>
/// <param name="Kind">CD/DVD or floppy.</param>
/// <param name="HostResource">The <c>rasd:HostResource</c> (an ISO <c>ovf:/file/ID</c>), or null when empty.</param>
/// <param name="ControllerId">The controller's InstanceID, or null.</param>
public sealed record OvfRemovableDrive(string InstanceId, OvfRemovableDriveKind Kind, string? HostResource, string? ControllerId);
