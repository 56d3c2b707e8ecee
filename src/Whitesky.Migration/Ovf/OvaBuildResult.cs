namespace Whitesky.Migration.Ovf;

/// <summary>What <see cref="OvaBuilder"/> built.</summary>
/// <param name="Path">The OVA file.</param>
/// <param name="Length">Its length in bytes.</param>
/// <param name="DescriptorName">The descriptor's name inside the archive.</param>
/// <param name="Files">The SHA256 of every file in the archive but the manifest (as the manifest lists them).</param>
/// <param name="Disks">What was written for each disk, in order.</param>
public sealed record OvaBuildResult(string Path, long Length, string DescriptorName, IReadOnlyList<OvfManifestEntry> Files, IReadOnlyList<VmdkWriteResult> Disks);
