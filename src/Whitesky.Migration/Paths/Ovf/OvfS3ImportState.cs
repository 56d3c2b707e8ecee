using Whitesky.Migration.Ovf;
using Whitesky.Migration.S3;

namespace Whitesky.Migration.Paths.Ovf;

/// <summary>Where an import stood when it stopped (carried by its exceptions).</summary>
/// <param name="Report">The validation report, if made.</param>
/// <param name="Checkpoint">The upload checkpoint, if the upload started and did not finish.</param>
/// <param name="PackagePath">The package.</param>
/// <param name="VmId">The VM, if made.</param>
/// <param name="VmDeleted">Whether the VM was deleted.</param>
public sealed record OvfS3ImportState(OvfValidationReport? Report, S3UploadCheckpoint? Checkpoint, string? PackagePath, long? VmId, bool VmDeleted);
