namespace Whitesky.Migration.Ovf;

/// <summary>A <c>Disk</c> of the DiskSection.</summary>
/// <param name="DiskId">The <c>ovf:diskId</c> hardware items refer to (<c>ovf:/disk/ID</c>).</param>
/// <param name="FileRef">The <c>ovf:fileRef</c> of the backing file, or null for a new empty disk.</param>
/// <param name="CapacityBytes">The virtual size in bytes (<c>ovf:capacity</c> × <c>ovf:capacityAllocationUnits</c>).</param>
/// <param name="PopulatedSize">The <c>ovf:populatedSize</c> in bytes (data actually held), when given.</param>
/// <param name="FormatUri">The <c>ovf:format</c> URI.</param>
public sealed record OvfDisk(string DiskId, string? FileRef, long CapacityBytes, long? PopulatedSize, string? FormatUri)
{
    /// <summary>The disk format the URI names.</summary>
    public OvfDiskFormat Format => OvfDiskFormats.FromUri(FormatUri);
}
