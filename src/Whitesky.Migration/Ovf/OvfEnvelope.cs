namespace Whitesky.Migration.Ovf;

/// <summary>An OVF descriptor as read by <see cref="OvfReader"/>: the files, the disks and the virtual systems.</summary>
public sealed record OvfEnvelope
{
    /// <summary>The References section: every file of the package other than the descriptor, manifest and certificate.</summary>
    public required IReadOnlyList<OvfFileReference> Files { get; init; }

    /// <summary>The DiskSection: the virtual disks and the files that back them.</summary>
    public required IReadOnlyList<OvfDisk> Disks { get; init; }

    /// <summary>The virtual systems (one for a VirtualSystem, several for a VirtualSystemCollection).</summary>
    public required IReadOnlyList<OvfVirtualSystem> VirtualSystems { get; init; }

    /// <summary>The OVF version the descriptor's namespace says (<c>1</c> or <c>2</c>).</summary>
    public required int OvfMajorVersion { get; init; }

    /// <summary>Sections and elements that were not understood and ignored (they were not marked required).</summary>
    public IReadOnlyList<string> IgnoredSections { get; init; } = [];

    /// <summary>The file reference with this id, or null.</summary>
    public OvfFileReference? FindFile(string id) => Files.FirstOrDefault(f => f.Id == id);

    /// <summary>The disk with this id, or null.</summary>
    public OvfDisk? FindDisk(string diskId) => Disks.FirstOrDefault(d => d.DiskId == diskId);
}
