using System.Diagnostics;
using System.Globalization;
using Amazon.S3;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Whitesky.Api;
using Whitesky.Api.Models;
using Whitesky.DiskFormats;
using Whitesky.Migration.Guest;
using Whitesky.Migration.Ovf;
using Whitesky.Migration.S3;

namespace Whitesky.Migration.Paths.Ovf;

/// <summary>
/// Path A, OVF via S3: takes an OVA, an OVF folder or any disk image (an OVA is built from it), validates the package
/// before anything is uploaded, stages it in S3 with a resumable multipart upload, asks whitesky to import it
/// (<c>import-vm-s3</c>, hardware from the OVF unless overridden), waits for the VM with progress and a timeout, and
/// optionally deletes the staged object. A failure or cancellation after the VM was made deletes the VM (and its
/// disks) unless <see cref="OvfS3ImportOptions.KeepVmOnFailure"/>.
/// </summary>
public sealed partial class OvfS3Import
{
    /// <summary>VM statuses that end a successful import (case-insensitive).</summary>
    public static IReadOnlyList<string> ImportedStatuses { get; } = ["RUNNING", "HALTED", "STOPPED", "CREATED"];

    private const int DefaultVcpus = 2;
    private const long DefaultMemoryMiB = 2048;

    private readonly WhiteskyClient _client;
    private readonly ILogger _logger;
    private readonly Func<S3StorageOptions, IAmazonS3> _s3ClientFactory;

    /// <summary>Creates the import on a whitesky client (customer and cloudspace set).</summary>
    /// <param name="client">The API client; its customer and cloudspace receive the VM.</param>
    /// <param name="logger">One line per step; S3 secrets are never logged.</param>
    /// <param name="s3ClientFactory">Makes the S3 client for a store (default <see cref="S3StorageOptions.CreateClient"/>).</param>
    public OvfS3Import(WhiteskyClient client, ILogger<OvfS3Import>? logger = null, Func<S3StorageOptions, IAmazonS3>? s3ClientFactory = null)
    {
        ArgumentNullException.ThrowIfNull(client);
        _client = client;
        _logger = logger ?? (ILogger)NullLogger.Instance;
        _s3ClientFactory = s3ClientFactory ?? (storage => storage.CreateClient());
    }

    /// <summary>Runs the import.</summary>
    /// <exception cref="OvfS3ImportException">A step failed: the package has validation errors (see <see cref="OvfS3ImportException.Report"/>), the upload failed (resume from <see cref="OvfS3ImportException.Checkpoint"/>), the VM reached <c>ERROR</c>, or the import timed out.</exception>
    /// <exception cref="OvfS3ImportCanceledException">The token was cancelled; the message says what was left behind.</exception>
    public async Task<OvfS3ImportResult> ImportAsync(OvfS3ImportOptions options, IProgress<OvfS3ImportProgress>? progress = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentException.ThrowIfNullOrEmpty(options.Source);
        ArgumentException.ThrowIfNullOrEmpty(options.Bucket);
        ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(options.ImportTimeout, TimeSpan.Zero, nameof(options.ImportTimeout));
        ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(options.PollInterval, TimeSpan.Zero, nameof(options.PollInterval));
        var run = new Run(this, options, progress, cancellationToken);
        return await run.ExecuteAsync().ConfigureAwait(false);
    }

    private sealed class Run(OvfS3Import owner, OvfS3ImportOptions options, IProgress<OvfS3ImportProgress>? progress, CancellationToken cancellationToken)
    {
        private readonly Stopwatch _clock = Stopwatch.StartNew();
        private OvfS3ImportStage _stage = OvfS3ImportStage.Packaging;
        private OvfValidationReport? _report;
        private S3UploadCheckpoint? _checkpoint;
        private string? _packagePath;
        private bool _built;
        private long? _vmId;
        private bool _vmDeleted;

        private ILogger Logger => owner._logger;

        public async Task<OvfS3ImportResult> ExecuteAsync()
        {
            try
            {
                var (packagePath, built) = await PackageAsync().ConfigureAwait(false);
                _packagePath = packagePath;
                _built = built;

                _stage = OvfS3ImportStage.Validating;
                Report(0, 0);
                OvfS3ImportHardware hardware;
                using (var package = await OvfPackage.OpenAsync(packagePath, cancellationToken).ConfigureAwait(false))
                {
                    _report = await package.ValidateAsync(options.Validation, cancellationToken).ConfigureAwait(false);
                    LogValidated(Logger, packagePath, _report.Errors.Count(), _report.Warnings.Count());
                    if (!_report.IsValid)
                    {
                        throw Fail($"{Path.GetFileName(packagePath)} failed validation, nothing was uploaded: {string.Join("; ", _report.Errors)}", null);
                    }

                    hardware = ChooseHardware(package);
                }

                _stage = OvfS3ImportStage.Uploading;
                var objectName = options.ObjectName ?? Path.GetFileName(packagePath);
                S3UploadResult upload;
                using (var s3 = owner._s3ClientFactory(options.Storage))
                using (var uploader = new S3ObjectUploader(s3))
                {
                    var uploadProgress = new InlineProgress<S3UploadProgress>(p => Report(p.BytesDone, p.TotalBytes));
                    try
                    {
                        upload = await uploader.UploadFileAsync(packagePath, options.Bucket, objectName, options.Upload, uploadProgress, cancellationToken).ConfigureAwait(false);
                    }
                    catch (S3UploadCanceledException e)
                    {
                        _checkpoint = e.Checkpoint;
                        throw;
                    }
                    catch (S3TransferException e)
                    {
                        _checkpoint = e.Checkpoint;
                        throw Fail($"uploading {Path.GetFileName(packagePath)} to s3://{options.Bucket}/{objectName} failed: {e.Message}", e);
                    }
                }

                LogUploaded(Logger, options.Bucket, objectName, upload.PartsUploaded, upload.PartsReused);
                if (_built)
                {
                    // The OVA the SDK made is in S3 now; a retry of the import needs only the object.
                    File.Delete(packagePath);
                }

                _stage = OvfS3ImportStage.Importing;
                var status = await ImportAndWaitAsync(hardware, objectName).ConfigureAwait(false);

                var deleted = false;
                if (options.DeleteObjectAfterImport)
                {
                    _stage = OvfS3ImportStage.CleaningUp;
                    Report(0, 0);
                    using var s3 = owner._s3ClientFactory(options.Storage);
                    using var uploader = new S3ObjectUploader(s3);
                    await uploader.DeleteAsync(options.Bucket, objectName, cancellationToken).ConfigureAwait(false);
                    deleted = true;
                }

                _stage = OvfS3ImportStage.Completed;
                Report(0, 0);
                return new OvfS3ImportResult
                {
                    VmId = _vmId!.Value,
                    VmStatus = status,
                    Hardware = hardware,
                    PackagePath = packagePath,
                    PackageBuilt = _built,
                    Report = _report,
                    Upload = upload,
                    ObjectDeleted = deleted,
                    Duration = _clock.Elapsed,
                };
            }
            catch (OperationCanceledException e) when (cancellationToken.IsCancellationRequested)
            {
                DeleteUnusedPackage();
                var cleanup = await CleanUpVmAsync().ConfigureAwait(false);
                var resume = _checkpoint is { } c
                    ? $" {c.Parts.Count} part(s) are stored under upload {c.UploadId}: resume with the exception's Checkpoint and {Path.GetFileName(_packagePath)} as the source."
                    : string.Empty;
                throw new OvfS3ImportCanceledException($"The OVF import was cancelled while {Describe(_stage)}.{cleanup}{resume}", _stage, State(), e);
            }
            catch (OvfS3ImportException)
            {
                DeleteUnusedPackage();
                throw;
            }
            catch (Exception e) when (e is IOException or OvfException or DiskFormatException or WhiteskyApiException or AmazonS3Exception or TimeoutException or UnauthorizedAccessException)
            {
                DeleteUnusedPackage();
                var cleanup = await CleanUpVmAsync().ConfigureAwait(false);
                throw new OvfS3ImportException($"The OVF import failed while {Describe(_stage)}: {e.Message}{cleanup}", _stage, State(), e);
            }
        }

        private async Task<(string Path, bool Built)> PackageAsync()
        {
            var source = Path.GetFullPath(options.Source);
            if (!File.Exists(source))
            {
                throw new FileNotFoundException($"{source} does not exist", source);
            }

            if (source.EndsWith(".ova", StringComparison.OrdinalIgnoreCase))
            {
                return (source, false);
            }

            var work = Directory.CreateDirectory(options.WorkDirectory ?? Path.GetTempPath()).FullName;
            if (source.EndsWith(".ovf", StringComparison.OrdinalIgnoreCase))
            {
                // One object is one resumable upload and one import: the folder is packed as an OVA (files unchanged, manifest still true).
                Report(0, 0);
                var packed = Path.Combine(work, Path.GetFileNameWithoutExtension(source) + ".ova");
                await OvfFolderPacker.PackAsync(source, packed, cancellationToken).ConfigureAwait(false);
                LogPacked(Logger, source, packed);
                return (packed, true);
            }

            var disk = await DiskImage.OpenAsync(source, cancellationToken: cancellationToken).ConfigureAwait(false);
            await using (disk.ConfigureAwait(false))
            {
                var layout = await GuestDiskInspector.InspectAsync(disk, cancellationToken).ConfigureAwait(false);
                var bootType = options.BootType ?? (layout.BootMode == GuestBootMode.Uefi ? Api.Models.BootType.Uefi : Api.Models.BootType.Bios);
                var name = options.Name ?? Path.GetFileNameWithoutExtension(source);
                var ova = Path.Combine(work, SafeFileName(name) + ".ova");
                var build = new OvaBuildOptions
                {
                    Name = name,
                    Cpus = options.Vcpus ?? DefaultVcpus,
                    MemoryMiB = options.MemoryMiB ?? DefaultMemoryMiB,
                    Firmware = bootType == Api.Models.BootType.Bios ? OvfFirmware.Bios : OvfFirmware.Efi,
                    OsType = options.OsType?.Value ?? OvfOperatingSystemMap.Other,
                    OsName = options.OsName?.Value ?? "Other - other",
                    StagingDirectory = work,
                };
                var converted = new InlineProgress<long>(b => Report(b, disk.Capacity));
                await OvaBuilder.BuildAsync([disk], ova, build, converted, cancellationToken).ConfigureAwait(false);
                LogPacked(Logger, source, ova);
                return (ova, true);
            }
        }

        private OvfS3ImportHardware ChooseHardware(OvfPackage package)
        {
            var system = package.Envelope.VirtualSystems[0];
            var hardware = system.Hardware;
            var bootType = options.BootType ?? (hardware.Firmware == OvfFirmware.Efi ? Api.Models.BootType.Uefi : Api.Models.BootType.Bios);
            return new OvfS3ImportHardware(
                options.Name ?? system.Name,
                options.Vcpus ?? hardware.Cpus ?? DefaultVcpus,
                options.MemoryMiB ?? hardware.MemoryMiB ?? DefaultMemoryMiB,
                bootType.Value,
                options.OsType?.Value ?? system.OperatingSystem.WhiteskyOsType,
                options.OsName?.Value ?? system.OperatingSystem.WhiteskyOsName);
        }

        private async Task<string> ImportAndWaitAsync(OvfS3ImportHardware hardware, string objectName)
        {
            Report(0, 0);
            var request = new ImportVmFromS3Request
            {
                Link = options.Storage.Endpoint.ToString().TrimEnd('/'),
                Key = options.Storage.AccessKey,
                Secret = options.Storage.SecretKey,
                Region = options.Storage.Region,
                Bucket = options.Bucket,
                ObjectName = objectName,
                Name = hardware.Name,
                Description = options.Description ?? $"Imported from {objectName}",
                VCpus = hardware.Vcpus,
                Memory = hardware.MemoryMiB,
                BootType = new BootType(hardware.BootType),
                OsType = new OsType(hardware.OsType),
                OsName = new OsName(hardware.OsName),
                PrivateIp = options.PrivateIp,
                Strict = options.Strict ? true : null,
            };
            // Not cancelled mid-flight: the platform may have made the VM before a cancelled call would return, and
            // then nobody would know its id to delete it. The call is short; cancellation is honoured right after it.
            using (var callTimeout = new CancellationTokenSource(TimeSpan.FromMinutes(2)))
            {
                _vmId = await owner._client.ImportVirtualMachineFromS3Async(request, callTimeout.Token).ConfigureAwait(false);
            }

            cancellationToken.ThrowIfCancellationRequested();
            LogImportStarted(Logger, _vmId.Value, hardware.Name, options.Bucket, objectName);

            using var deadline = new CancellationTokenSource(options.ImportTimeout);
            using var linked = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, deadline.Token);
            string? status = null;
            try
            {
                while (true)
                {
                    var vm = await owner._client.GetVirtualMachineAsync(_vmId.Value, linked.Token).ConfigureAwait(false);
                    status = vm.Status;
                    Report(0, 0, status);
                    if (status is not null && ImportedStatuses.Contains(status, StringComparer.OrdinalIgnoreCase))
                    {
                        LogImported(Logger, _vmId.Value, status, _clock.Elapsed);
                        return status;
                    }

                    if (status is not null && WhiteskyClient.FailedStatuses.Contains(status, StringComparer.OrdinalIgnoreCase))
                    {
                        var cleanup = await CleanUpVmAsync().ConfigureAwait(false);
                        throw new OvfS3ImportException(string.Create(CultureInfo.InvariantCulture,
                            $"VM {_vmId} '{hardware.Name}' reached status {status} during the import of s3://{options.Bucket}/{objectName} (the platform says why by mail or callback).{cleanup}"),
                            _stage, State(), null);
                    }

                    await Task.Delay(options.PollInterval, linked.Token).ConfigureAwait(false);
                }
            }
            catch (Exception e) when (deadline.IsCancellationRequested && !cancellationToken.IsCancellationRequested
                                      && (e is OperationCanceledException || e is WhiteskyApiException { StatusCode: null }))
            {
                var cleanup = await CleanUpVmAsync().ConfigureAwait(false);
                throw new OvfS3ImportException(string.Create(CultureInfo.InvariantCulture,
                    $"VM {_vmId} '{hardware.Name}' did not finish importing within {options.ImportTimeout} (last status: {status ?? "unknown"}).{cleanup} The object s3://{options.Bucket}/{objectName} is kept."),
                    _stage, State(), new TimeoutException($"import-vm-s3 of VM {_vmId} timed out", e));
            }
        }

        /// <summary>Removes an OVA this import built when no upload needs it again (it failed before any part was stored).</summary>
        private void DeleteUnusedPackage()
        {
            if (_built && _checkpoint is null && _stage <= OvfS3ImportStage.Uploading && _packagePath is { } path)
            {
                File.Delete(path);
                _packagePath = null;
            }
        }

        /// <summary>Deletes the VM made by this import (and its disks), unless asked to keep it; returns a sentence for the error message.</summary>
        private async Task<string> CleanUpVmAsync()
        {
            if (_vmId is not { } vmId || _vmDeleted)
            {
                return string.Empty;
            }

            if (options.KeepVmOnFailure)
            {
                return string.Create(CultureInfo.InvariantCulture, $" VM {vmId} was kept as asked.");
            }

            try
            {
                // Not the caller's token: a cancelled import must still leave nothing behind.
                using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(2));
                await owner._client.DeleteVirtualMachineAsync(vmId, permanently: true, detachDisks: false, timeout.Token).ConfigureAwait(false);
                _vmDeleted = true;
                LogVmDeleted(Logger, vmId);
                return string.Create(CultureInfo.InvariantCulture, $" VM {vmId} and its disks were deleted.");
            }
            catch (Exception e) when (e is WhiteskyApiException or OperationCanceledException or HttpRequestException)
            {
                LogVmDeleteFailed(Logger, vmId, e);
                return string.Create(CultureInfo.InvariantCulture, $" VM {vmId} could not be deleted ({e.Message}); delete it yourself.");
            }
        }

        private OvfS3ImportException Fail(string message, Exception? inner) => new(message, _stage, State(), inner);

        private OvfS3ImportState State() => new(_report, _checkpoint, _packagePath, _vmId, _vmDeleted);

        private void Report(long done, long total, string? status = null) =>
            progress?.Report(new OvfS3ImportProgress(_stage, done, total, _vmId, status, _clock.Elapsed));

        private static string Describe(OvfS3ImportStage stage) => stage switch
        {
            OvfS3ImportStage.Packaging => "building the OVA",
            OvfS3ImportStage.Validating => "validating the package",
            OvfS3ImportStage.Uploading => "uploading the package to S3",
            OvfS3ImportStage.Importing => "whitesky was importing the VM",
            OvfS3ImportStage.CleaningUp => "deleting the staged object",
            _ => "finishing",
        };

        private static string SafeFileName(string name) =>
            string.Concat(name.Select(c => char.IsAsciiLetterOrDigit(c) || c is '-' or '_' or '.' ? c : '_'));
    }

    /// <summary>Reports on the caller's thread (no SynchronizationContext hop), so progress arrives in order.</summary>
    private sealed class InlineProgress<T>(Action<T> report) : IProgress<T>
    {
        public void Report(T value) => report(value);
    }

    [LoggerMessage(EventId = 1, Level = LogLevel.Information, Message = "Packaged {Source} as {Package}")]
    private static partial void LogPacked(ILogger logger, string source, string package);

    [LoggerMessage(EventId = 2, Level = LogLevel.Information, Message = "Validated {Package}: {Errors} error(s), {Warnings} warning(s)")]
    private static partial void LogValidated(ILogger logger, string package, int errors, int warnings);

    [LoggerMessage(EventId = 3, Level = LogLevel.Information, Message = "Uploaded s3://{Bucket}/{ObjectName}: {PartsUploaded} part(s) sent, {PartsReused} reused")]
    private static partial void LogUploaded(ILogger logger, string bucket, string objectName, int partsUploaded, int partsReused);

    [LoggerMessage(EventId = 4, Level = LogLevel.Information, Message = "import-vm-s3 made VM {VmId} '{Name}' from s3://{Bucket}/{ObjectName}")]
    private static partial void LogImportStarted(ILogger logger, long vmId, string name, string bucket, string objectName);

    [LoggerMessage(EventId = 5, Level = LogLevel.Information, Message = "VM {VmId} imported ({Status}) after {Elapsed}")]
    private static partial void LogImported(ILogger logger, long vmId, string status, TimeSpan elapsed);

    [LoggerMessage(EventId = 6, Level = LogLevel.Information, Message = "Deleted VM {VmId} of the failed import")]
    private static partial void LogVmDeleted(ILogger logger, long vmId);

    [LoggerMessage(EventId = 7, Level = LogLevel.Warning, Message = "Could not delete VM {VmId} of the failed import")]
    private static partial void LogVmDeleteFailed(ILogger logger, long vmId, Exception exception);
}
