namespace Whitesky.Migration.S3;

/// <summary>
/// An S3 transfer failed. The message names the bucket, key, upload id and part; <see cref="Checkpoint"/>
/// resumes it unless it was aborted.
/// </summary>
public class S3TransferException : IOException
{
    /// <summary>Creates the exception.</summary>
    public S3TransferException(string message) : base(message) { }

    /// <summary>Creates the exception with its cause.</summary>
    public S3TransferException(string message, Exception? innerException) : base(message, innerException) { }

    /// <summary>Creates the exception with the state to resume from.</summary>
    public S3TransferException(string message, S3UploadCheckpoint? checkpoint, Exception? innerException) : base(message, innerException) =>
        Checkpoint = checkpoint;

    /// <summary>What the upload had done, to pass as <see cref="S3UploadOptions.Resume"/>; null when aborted or not started.</summary>
    public S3UploadCheckpoint? Checkpoint { get; }
}
