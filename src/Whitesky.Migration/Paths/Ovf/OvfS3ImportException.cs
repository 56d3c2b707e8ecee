using Whitesky.Migration.Ovf;
using Whitesky.Migration.S3;

namespace Whitesky.Migration.Paths.Ovf;

/// <summary>An OVF-via-S3 import failed; the message says at which step, what happened and what was cleaned up.</summary>
public class OvfS3ImportException : MigrationException
{
    /// <summary>Creates an exception with a message.</summary>
    public OvfS3ImportException(string message) : base(message) { }

    /// <summary>Creates an exception with a message and the error that caused it.</summary>
    public OvfS3ImportException(string message, Exception? innerException) : base(message, innerException) { }

    /// <summary>Creates an exception with the import's state.</summary>
    public OvfS3ImportException(string message, OvfS3ImportStage stage, OvfS3ImportState state, Exception? innerException)
        : base(message, innerException)
    {
        ArgumentNullException.ThrowIfNull(state);
        Stage = stage;
        Report = state.Report;
        Checkpoint = state.Checkpoint;
        PackagePath = state.PackagePath;
        VmId = state.VmId;
        VmDeleted = state.VmDeleted;
    }

    /// <summary>The step that failed.</summary>
    public OvfS3ImportStage Stage { get; }

    /// <summary>The validation report, once made (its errors when validation failed).</summary>
    public OvfValidationReport? Report { get; }

    /// <summary>Where the upload stopped: pass it as <see cref="S3UploadOptions.Resume"/> (with <see cref="PackagePath"/> as the source) to send only the missing parts.</summary>
    public S3UploadCheckpoint? Checkpoint { get; }

    /// <summary>The package that was (being) uploaded; an OVA the SDK built is kept when the upload did not finish.</summary>
    public string? PackagePath { get; }

    /// <summary>The VM <c>import-vm-s3</c> made, if it got that far.</summary>
    public long? VmId { get; }

    /// <summary>Whether that VM was deleted (with its disks) because of the failure.</summary>
    public bool VmDeleted { get; }
}
