namespace Whitesky.Migration.S3;

/// <summary>An upload was cancelled; <see cref="Checkpoint"/> resumes it (unless it was aborted).</summary>
public class S3UploadCanceledException : OperationCanceledException
{
    /// <summary>Creates the exception.</summary>
    public S3UploadCanceledException() { }

    /// <summary>Creates the exception.</summary>
    public S3UploadCanceledException(string message) : base(message) { }

    /// <summary>Creates the exception with its cause.</summary>
    public S3UploadCanceledException(string message, Exception? innerException) : base(message, innerException) { }

    /// <summary>Creates the exception with the state to resume from.</summary>
    public S3UploadCanceledException(string message, S3UploadCheckpoint? checkpoint, OperationCanceledException innerException)
        : base(message, innerException, innerException?.CancellationToken ?? default) =>
        Checkpoint = checkpoint;

    /// <summary>What the upload had done, to pass as <see cref="S3UploadOptions.Resume"/>; null when aborted.</summary>
    public S3UploadCheckpoint? Checkpoint { get; }
}
