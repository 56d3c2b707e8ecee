using Whitesky.Migration.Ovf;
using Whitesky.Migration.S3;

namespace Whitesky.Migration.Paths.Ovf;

/// <summary>What an OVF-via-S3 import did.</summary>
public sealed record OvfS3ImportResult
{
    /// <summary>The imported VM.</summary>
    public required long VmId { get; init; }

    /// <summary>The VM's status when the import ended (<c>RUNNING</c> on the platform and the emulator).</summary>
    public required string VmStatus { get; init; }

    /// <summary>The hardware asked for (the OVF's, with the caller's overrides).</summary>
    public required OvfS3ImportHardware Hardware { get; init; }

    /// <summary>The package uploaded (the source, or the OVA built from it).</summary>
    public required string PackagePath { get; init; }

    /// <summary>Whether the package was built by the SDK (from a disk image or an OVF folder).</summary>
    public required bool PackageBuilt { get; init; }

    /// <summary>The validation report of the package (no errors, else the import would have stopped).</summary>
    public required OvfValidationReport Report { get; init; }

    /// <summary>The upload (parts sent and reused).</summary>
    public required S3UploadResult Upload { get; init; }

    /// <summary>Whether the staged object was deleted afterwards.</summary>
    public required bool ObjectDeleted { get; init; }

    /// <summary>Time from start to end.</summary>
    public required TimeSpan Duration { get; init; }
}
