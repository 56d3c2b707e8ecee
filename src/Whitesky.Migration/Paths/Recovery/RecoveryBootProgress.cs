namespace Whitesky.Migration.Paths.Recovery;

/// <summary>What a recovery boot is doing.</summary>
public enum RecoveryBootPhase
{
    /// <summary>Uploading the ISO.</summary>
    Uploading,

    /// <summary>Creating the VM with its empty boot disk and the medium.</summary>
    CreatingVm,

    /// <summary>Starting the VM.</summary>
    Starting,

    /// <summary>Stopping the VM (finish step).</summary>
    Stopping,

    /// <summary>Detaching the CD-ROM and setting the boot disk (finish step).</summary>
    Finishing,

    /// <summary>Done.</summary>
    Completed,
}

/// <summary>A snapshot of a recovery boot.</summary>
/// <param name="Phase">What it is doing.</param>
/// <param name="UploadedBytes">ISO bytes acknowledged so far (resumed parts included).</param>
/// <param name="TotalBytes">The ISO's size (0 without an upload).</param>
/// <param name="Elapsed">Time since the start.</param>
public sealed record RecoveryBootProgress(RecoveryBootPhase Phase, long UploadedBytes, long TotalBytes, TimeSpan Elapsed)
{
    /// <summary>Upload rate in bytes per second since the start.</summary>
    public double BytesPerSecond => Elapsed > TimeSpan.Zero ? UploadedBytes / Elapsed.TotalSeconds : 0;
}
