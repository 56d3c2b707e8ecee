using System.Globalization;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Whitesky.Api;
using Whitesky.Api.Models;

namespace Whitesky.Migration.Paths.Recovery;

/// <summary>
/// Path C, recovery boot: an empty VM boots a backup vendor's recovery media and the vendor's own tool restores the
/// machine onto its empty boot disk. <see cref="StartAsync"/> uploads the recovery ISO through the CD-ROM multipart
/// API (parts in parallel, resumable) or reuses a CD-ROM image, or uses the platform's Acronis / Veeam integration,
/// creates the VM with an empty boot disk of the requested size and the medium, and starts it; the result says what to
/// do in the console. Once the restore is done, <see cref="FinishAsync"/> detaches the CD-ROM and makes the VM boot
/// from its disk.
/// </summary>
public sealed class RecoveryBootImport
{
    private static readonly TimeSpan CleanupTimeout = TimeSpan.FromMinutes(1);
    private static readonly TimeSpan StopTimeout = TimeSpan.FromMinutes(10);

    private readonly WhiteskyClient _client;
    private readonly ILogger _logger;

    /// <summary>Creates the path over <paramref name="client"/> (its customer, cloudspace and location are used).</summary>
    /// <param name="client">The whitesky API.</param>
    /// <param name="loggerFactory">Where to log (nothing when null).</param>
    public RecoveryBootImport(WhiteskyClient client, ILoggerFactory? loggerFactory = null)
    {
        _client = client ?? throw new ArgumentNullException(nameof(client));
        _logger = (ILogger?)loggerFactory?.CreateLogger<RecoveryBootImport>() ?? NullLogger.Instance;
    }

    /// <summary>Uploads the medium if needed, creates the VM with an empty boot disk and the medium, and starts it.</summary>
    /// <param name="options">The medium and the VM.</param>
    /// <param name="progress">Receives the phase and the upload's bytes.</param>
    /// <param name="cancellationToken">Cancels the work (an upload keeps its checkpoint; a created VM is deleted unless kept).</param>
    /// <returns>The VM, its boot disk, the CD-ROM, and what to do next.</returns>
    /// <exception cref="RecoveryBootException">A step failed; the message says which and what was cleaned up.</exception>
    /// <exception cref="RecoveryBootCanceledException">Cancelled.</exception>
    public async Task<RecoveryBootResult> StartAsync(RecoveryBootOptions options, IProgress<RecoveryBootProgress>? progress = null,
        CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        var started = TimeProvider.System.GetTimestamp();
        var phase = RecoveryBootPhase.Uploading;
        long total = 0;
        long uploaded = 0;
        void Report(RecoveryBootPhase p) => progress?.Report(new RecoveryBootProgress(p, Interlocked.Read(ref uploaded), total, TimeProvider.System.GetElapsedTime(started)));

        long? cdromId = options.CdromId;
        IsoUploadSummary? upload = null;
        long? vmId = null;
        try
        {
            if (options.IsoPath is { } iso)
            {
                total = new FileInfo(iso).Length;
                Report(phase);
                var uploader = new CdromIsoUploader(_client, Context(_client.CustomerId, "CustomerId"), Context(_client.Location, "Location"));
                (cdromId, upload) = await uploader.UploadAsync(iso, options.CdromName ?? Path.GetFileName(iso), options.OsType ?? OsType.Other,
                    options.OsName ?? OsName.OtherOther, options.UploadCheckpointPath, options.UploadParallelism,
                    bytes =>
                    {
                        Interlocked.Add(ref uploaded, bytes);
                        Report(RecoveryBootPhase.Uploading);
                    }, cancellationToken).ConfigureAwait(false);
                RecoveryBootLog.Uploaded(_logger, iso, cdromId.Value, upload.PartsSent, upload.PartsResumed);
            }

            phase = RecoveryBootPhase.CreatingVm;
            Report(phase);
            vmId = await _client.CreateVirtualMachineAsync(new CreateVirtualMachineRequest
            {
                Name = options.VmName,
                Description = options.Description,
                VCpus = options.VCpus,
                Memory = options.MemoryMiB,
                DiskSize = options.DiskSizeGb,
                CdromId = cdromId,
                Acronis = options.Acronis ? true : null,
                Veeam = options.Veeam ? true : null,
                BootType = options.BootType,
                OsType = options.OsType,
                OsName = options.OsName,
                StartVm = false,
            }, cancellationToken).ConfigureAwait(false);
            var vm = await _client.GetVirtualMachineAsync(vmId.Value, cancellationToken).ConfigureAwait(false);
            var bootDiskId = vm.BootDiskId ?? vm.Disks?.FirstOrDefault()?.DiskId
                ?? throw new RecoveryBootException(string.Create(CultureInfo.InvariantCulture, $"VM {vmId} was created without a boot disk."));
            RecoveryBootLog.VmCreated(_logger, vmId.Value, bootDiskId, options.DiskSizeGb);

            if (options.Start)
            {
                phase = RecoveryBootPhase.Starting;
                Report(phase);
                await _client.StartVirtualMachineAsync(vmId.Value, cancellationToken).ConfigureAwait(false);
                vm = await _client.WaitForVirtualMachineRunningAsync(vmId.Value, options.StartTimeout, cancellationToken).ConfigureAwait(false);
            }

            Report(RecoveryBootPhase.Completed);
            var medium = options.IsoPath is not null ? RecoveryMedium.UploadedIso
                : options.CdromId is not null ? RecoveryMedium.ExistingCdrom
                : options.Acronis ? RecoveryMedium.Acronis
                : RecoveryMedium.Veeam;
            return new RecoveryBootResult
            {
                VmId = vmId.Value,
                BootDiskId = bootDiskId,
                DiskSizeGb = options.DiskSizeGb,
                Medium = medium,
                CdromId = cdromId,
                Upload = upload,
                VmStatus = vm.Status,
                Instructions = Instructions(medium, vmId.Value, bootDiskId, options.DiskSizeGb, options.Start),
            };
        }
        catch (Exception ex) when (ex is not RecoveryBootException || vmId is not null)
        {
            var vmDeleted = false;
            var cleanup = new List<string>();
            if (vmId is { } created)
            {
                if (options.KeepVmOnFailure)
                {
                    cleanup.Add(string.Create(CultureInfo.InvariantCulture, $"VM {created} was kept as asked"));
                }
                else
                {
                    vmDeleted = await DeleteVmAsync(created, cleanup).ConfigureAwait(false);
                }
            }

            if (cdromId is { } cdrom && options.IsoPath is not null)
            {
                cleanup.Add(string.Create(CultureInfo.InvariantCulture, $"the uploaded CD-ROM image {cdrom} was kept (pass it as the CD-ROM id to try again)"));
            }
            else if (phase == RecoveryBootPhase.Uploading && options.UploadCheckpointPath is not null)
            {
                cleanup.Add($"the upload checkpoint {options.UploadCheckpointPath} was kept (run again with it to send only the missing parts)");
            }

            var summary = cleanup.Count == 0 ? "Nothing needed cleaning up." : "Cleaned up: " + string.Join("; ", cleanup) + ".";
            if (ex is OperationCanceledException && cancellationToken.IsCancellationRequested)
            {
                throw new RecoveryBootCanceledException($"The recovery boot was cancelled while {Describe(phase)}. {summary}", ex);
            }

            throw new RecoveryBootException($"The recovery boot failed while {Describe(phase)}: {ex.Message} {summary}", phase, cdromId, vmId, vmDeleted, ex);
        }
    }

    /// <summary>
    /// After the vendor's restore: stops the VM (when <paramref name="restart"/>), detaches its CD-ROM images, makes
    /// its boot disk the one to boot from, and starts it again.
    /// </summary>
    /// <param name="vmId">The VM <see cref="StartAsync"/> made.</param>
    /// <param name="bootDiskId">The disk to boot from; null keeps the VM's boot disk (the one the restore went into).</param>
    /// <param name="restart">Stop the VM first and start it again afterwards (on by default).</param>
    /// <param name="cancellationToken">Cancels the work.</param>
    /// <returns>What was detached and which disk boots.</returns>
    /// <exception cref="RecoveryBootException">A step failed.</exception>
    public async Task<RecoveryFinishResult> FinishAsync(long vmId, long? bootDiskId = null, bool restart = true, CancellationToken cancellationToken = default)
    {
        var phase = RecoveryBootPhase.Stopping;
        try
        {
            var vm = await _client.GetVirtualMachineAsync(vmId, cancellationToken).ConfigureAwait(false);
            var wasRunning = WhiteskyClient.VmRunningStatuses.Contains(vm.Status ?? string.Empty, StringComparer.OrdinalIgnoreCase);
            if (restart && wasRunning)
            {
                await _client.StopVirtualMachineAsync(vmId, cancellationToken: cancellationToken).ConfigureAwait(false);
                await _client.WaitForVirtualMachineStoppedAsync(vmId, StopTimeout, cancellationToken).ConfigureAwait(false);
            }

            phase = RecoveryBootPhase.Finishing;
            var detached = new List<long>();
            foreach (var cdromId in CdromIds(vm))
            {
                await _client.DetachCdromAsync(vmId, cdromId, cancellationToken).ConfigureAwait(false);
                detached.Add(cdromId);
            }

            var disk = bootDiskId ?? vm.BootDiskId ?? vm.Disks?.FirstOrDefault()?.DiskId
                ?? throw new RecoveryBootException(string.Create(CultureInfo.InvariantCulture, $"VM {vmId} has no disk to boot from."));
            await _client.SetBootDiskAsync(vmId, disk, cancellationToken).ConfigureAwait(false);

            string? status = vm.Status;
            if (restart && wasRunning)
            {
                phase = RecoveryBootPhase.Starting;
                await _client.StartVirtualMachineAsync(vmId, cancellationToken).ConfigureAwait(false);
                status = (await _client.WaitForVirtualMachineRunningAsync(vmId, StopTimeout, cancellationToken).ConfigureAwait(false)).Status;
            }

            RecoveryBootLog.Finished(_logger, vmId, disk, detached.Count);
            return new RecoveryFinishResult(vmId, disk, detached, restart && wasRunning, status);
        }
        catch (Exception ex) when (ex is not RecoveryBootException and not OperationCanceledException)
        {
            throw new RecoveryBootException(string.Create(CultureInfo.InvariantCulture, $"Finishing the recovery of VM {vmId} failed while {Describe(phase)}: {ex.Message}"),
                phase, null, vmId, false, ex);
        }
    }

    /// <summary>The CD-ROM images a VM has attached, from its devices (<c>type</c> cdrom, id at the end of <c>reference_id</c>).</summary>
    private static IEnumerable<long> CdromIds(VirtualMachineInfo vm)
    {
        foreach (var device in vm.Devices ?? [])
        {
            if (!string.Equals(device.Type, "cdrom", StringComparison.OrdinalIgnoreCase) || device.ReferenceId is not { } reference)
            {
                continue;
            }

            var digits = reference.Length - reference.AsSpan().TrimEnd("0123456789").Length;
            if (digits > 0 && long.TryParse(reference.AsSpan(reference.Length - digits), NumberStyles.None, CultureInfo.InvariantCulture, out var id))
            {
                yield return id;
            }
        }
    }

    private static string Context(string? value, string name) =>
        value ?? throw new InvalidOperationException($"Whitesky:{name} is not set: configure it or call WithContext(...) first.");

    private async Task<bool> DeleteVmAsync(long vmId, List<string> cleanup)
    {
        using var timeout = new CancellationTokenSource(CleanupTimeout);
        try
        {
            try
            {
                await _client.StopVirtualMachineAsync(vmId, force: true, timeout.Token).ConfigureAwait(false);
            }
            catch (WhiteskyApiException)
            {
                // Not running.
            }

            await _client.DeleteVirtualMachineAsync(vmId, permanently: true, cancellationToken: timeout.Token).ConfigureAwait(false);
            cleanup.Add(string.Create(CultureInfo.InvariantCulture, $"deleted VM {vmId} with its empty boot disk"));
            return true;
        }
        catch (Exception ex) when (ex is WhiteskyApiException or OperationCanceledException or HttpRequestException)
        {
            cleanup.Add(string.Create(CultureInfo.InvariantCulture, $"VM {vmId} could not be deleted ({ex.Message}); delete it by hand"));
            return false;
        }
    }

    private static string Describe(RecoveryBootPhase phase) => phase switch
    {
        RecoveryBootPhase.Uploading => "uploading the ISO",
        RecoveryBootPhase.CreatingVm => "creating the VM",
        RecoveryBootPhase.Starting => "starting the VM",
        RecoveryBootPhase.Stopping => "stopping the VM",
        RecoveryBootPhase.Finishing => "detaching the CD-ROM and setting the boot disk",
        _ => "finishing",
    };

    private static string Instructions(RecoveryMedium medium, long vmId, long bootDiskId, long sizeGb, bool started)
    {
        var boot = started ? "The VM is running and boots" : "Start the VM; it boots";
        var what = medium switch
        {
            RecoveryMedium.Acronis => "the Acronis recovery environment. In the console, connect it to your Acronis backup (Cyber Protect cloud or storage), choose the machine and recovery point, and recover the whole machine",
            RecoveryMedium.Veeam => "the Veeam recovery environment. In the console, connect it to your Veeam repository (or Cloud Connect), choose the restore point, and run a bare-metal restore",
            _ => "the recovery ISO from its CD-ROM. In the console, start the vendor's restore (Acronis bootable media, Veeam Recovery Media, ...) and restore the whole machine",
        };
        return string.Create(CultureInfo.InvariantCulture,
            $"{boot} {what} onto the empty {sizeGb} GB disk (disk {bootDiskId}). Open the console of VM {vmId} in the whitesky portal. "
            + $"When the restore has finished, run `whitesky-migrate recovery-boot finish {vmId}` (RecoveryBootImport.FinishAsync) to detach the CD-ROM and boot from the disk.");
    }
}
