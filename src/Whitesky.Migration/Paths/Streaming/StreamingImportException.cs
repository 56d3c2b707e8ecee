namespace Whitesky.Migration.Paths.Streaming;

/// <summary>
/// A streaming import failed. The message names the image, the disk and the step that failed, and what was cleaned
/// up: every exposure is ended, and the disks the import created are deleted unless
/// <see cref="StreamingImportOptions.KeepDisksOnFailure"/> asked to keep them (<see cref="KeptDiskIds"/>).
/// </summary>
public class StreamingImportException : MigrationException
{
    /// <summary>Creates the exception.</summary>
    public StreamingImportException(string message) : base(message) { }

    /// <summary>Creates the exception with its cause.</summary>
    public StreamingImportException(string message, Exception? innerException) : base(message, innerException) { }

    /// <summary>Creates the exception with what failed and what was cleaned up.</summary>
    public StreamingImportException(string message, StreamingImportFailure failure, Exception? innerException) : base(message, innerException)
    {
        ArgumentNullException.ThrowIfNull(failure);
        Failure = failure;
    }

    /// <summary>What failed and what was cleaned up (null only for the plain constructors).</summary>
    public StreamingImportFailure? Failure { get; }

    /// <summary>The image whose import failed.</summary>
    public string? ImagePath => Failure?.ImagePath;

    /// <summary>The disks deleted while cleaning up.</summary>
    public IReadOnlyList<long> DeletedDiskIds => Failure?.DeletedDiskIds ?? [];

    /// <summary>The disks kept (asked by <see cref="StreamingImportOptions.KeepDisksOnFailure"/>, or not created by the import).</summary>
    public IReadOnlyList<long> KeptDiskIds => Failure?.KeptDiskIds ?? [];
}

/// <summary>A streaming import was cancelled; every exposure was ended and created disks deleted unless asked to keep them.</summary>
public class StreamingImportCanceledException : OperationCanceledException
{
    /// <summary>Creates the exception.</summary>
    public StreamingImportCanceledException() { }

    /// <summary>Creates the exception.</summary>
    public StreamingImportCanceledException(string message) : base(message) { }

    /// <summary>Creates the exception with its cause.</summary>
    public StreamingImportCanceledException(string message, Exception? innerException) : base(message, innerException) { }

    /// <summary>Creates the exception with what was cleaned up.</summary>
    public StreamingImportCanceledException(string message, StreamingImportFailure failure, OperationCanceledException innerException)
        : base(message, innerException, innerException?.CancellationToken ?? default)
    {
        ArgumentNullException.ThrowIfNull(failure);
        Failure = failure;
    }

    /// <summary>Where the import was and what was cleaned up.</summary>
    public StreamingImportFailure? Failure { get; }
}

/// <summary>Where a streaming import stopped and what its clean-up did.</summary>
/// <param name="ImagePath">The image whose step failed (the first image when the VM step failed or on cancellation).</param>
/// <param name="DiskId">That image's disk, if one existed.</param>
/// <param name="Phase">The step that failed.</param>
/// <param name="DeletedDiskIds">Disks deleted while cleaning up.</param>
/// <param name="KeptDiskIds">Disks left in place (asked to keep them, or not created by the import).</param>
/// <param name="UnexposedDiskIds">Disks whose NBD exposure was ended.</param>
/// <param name="CleanupProblems">Clean-up steps that failed themselves, in words (the resource to remove by hand).</param>
/// <param name="CheckpointDirectory">Where the checkpoints are, to resume with the kept disks.</param>
public sealed record StreamingImportFailure(
    string ImagePath,
    long? DiskId,
    StreamingImportPhase Phase,
    IReadOnlyList<long> DeletedDiskIds,
    IReadOnlyList<long> KeptDiskIds,
    IReadOnlyList<long> UnexposedDiskIds,
    IReadOnlyList<string> CleanupProblems,
    string? CheckpointDirectory);
