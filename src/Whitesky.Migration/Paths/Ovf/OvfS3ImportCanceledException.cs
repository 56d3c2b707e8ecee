using Whitesky.Migration.S3;

namespace Whitesky.Migration.Paths.Ovf;

/// <summary>An OVF-via-S3 import was cancelled; the message says at which step and what was cleaned up.</summary>
public class OvfS3ImportCanceledException : OperationCanceledException
{
    /// <summary>Creates an exception with a message.</summary>
    public OvfS3ImportCanceledException(string message) : base(message) { }

    /// <summary>Creates an exception with a message and the cancellation that caused it.</summary>
    public OvfS3ImportCanceledException(string message, Exception? innerException) : base(message, innerException) { }

    /// <summary>Creates an exception with the import's state.</summary>
    public OvfS3ImportCanceledException(string message, OvfS3ImportStage stage, OvfS3ImportState state, OperationCanceledException innerException)
        : base(message, innerException, innerException?.CancellationToken ?? default)
    {
        ArgumentNullException.ThrowIfNull(state);
        Stage = stage;
        Checkpoint = state.Checkpoint;
        PackagePath = state.PackagePath;
        VmId = state.VmId;
        VmDeleted = state.VmDeleted;
    }

    /// <summary>The step that was running.</summary>
    public OvfS3ImportStage Stage { get; }

    /// <summary>Where the upload stopped, to resume it (see <see cref="OvfS3ImportException.Checkpoint"/>).</summary>
    public S3UploadCheckpoint? Checkpoint { get; }

    /// <summary>The package that was (being) uploaded.</summary>
    public string? PackagePath { get; }

    /// <summary>The VM <c>import-vm-s3</c> made, if it got that far.</summary>
    public long? VmId { get; }

    /// <summary>Whether that VM was deleted (with its disks).</summary>
    public bool VmDeleted { get; }
}
