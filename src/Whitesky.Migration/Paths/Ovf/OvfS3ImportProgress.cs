namespace Whitesky.Migration.Paths.Ovf;

/// <summary>A progress report of <see cref="OvfS3Import"/>.</summary>
/// <param name="Stage">The current step.</param>
/// <param name="BytesDone">Bytes done in this step (packaging: virtual bytes converted; uploading: bytes stored), 0 while importing.</param>
/// <param name="BytesTotal">Bytes of this step, 0 when unknown.</param>
/// <param name="VmId">The VM, once <c>import-vm-s3</c> answered.</param>
/// <param name="VmStatus">The VM's last polled status (<c>IMPORTING</c>, ...).</param>
/// <param name="Elapsed">Time since the import started.</param>
public sealed record OvfS3ImportProgress(OvfS3ImportStage Stage, long BytesDone, long BytesTotal, long? VmId, string? VmStatus, TimeSpan Elapsed);
