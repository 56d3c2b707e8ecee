namespace Whitesky.Migration.Paths.Recovery;

/// <summary>
/// A recovery boot failed. The message names the step, the VM and CD-ROM involved and what was cleaned up; an
/// interrupted upload is resumable from <see cref="RecoveryBootOptions.UploadCheckpointPath"/>.
/// </summary>
public class RecoveryBootException : MigrationException
{
    /// <summary>Creates the exception.</summary>
    public RecoveryBootException(string message) : base(message) { }

    /// <summary>Creates the exception with its cause.</summary>
    public RecoveryBootException(string message, Exception? innerException) : base(message, innerException) { }

    /// <summary>Creates the exception with where it stopped.</summary>
    public RecoveryBootException(string message, RecoveryBootPhase phase, long? cdromId, long? vmId, bool vmDeleted, Exception? innerException)
        : base(message, innerException)
    {
        Phase = phase;
        CdromId = cdromId;
        VmId = vmId;
        VmDeleted = vmDeleted;
    }

    /// <summary>The step that failed.</summary>
    public RecoveryBootPhase? Phase { get; }

    /// <summary>The CD-ROM image, when one was uploaded or given (it is kept: pass it as <see cref="RecoveryBootOptions.CdromId"/> to try again).</summary>
    public long? CdromId { get; }

    /// <summary>The VM, when one was created.</summary>
    public long? VmId { get; }

    /// <summary>Whether the VM (and its empty boot disk) was deleted while cleaning up.</summary>
    public bool VmDeleted { get; }
}

/// <summary>A recovery boot was cancelled; the message says what exists (a kept upload checkpoint, a created VM and whether it was deleted).</summary>
public class RecoveryBootCanceledException : OperationCanceledException
{
    /// <summary>Creates the exception.</summary>
    public RecoveryBootCanceledException() { }

    /// <summary>Creates the exception.</summary>
    public RecoveryBootCanceledException(string message) : base(message) { }

    /// <summary>Creates the exception with its cause.</summary>
    public RecoveryBootCanceledException(string message, Exception? innerException) : base(message, innerException) { }
}
