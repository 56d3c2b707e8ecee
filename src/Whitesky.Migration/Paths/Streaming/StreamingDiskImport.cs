using System.Globalization;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Whitesky.Api;
using Whitesky.Api.Models;
using Whitesky.DiskFormats;
using Whitesky.Migration.Guest;
using Whitesky.Migration.Sinks;
using Whitesky.Migration.Transfer;
using Whitesky.Nbd;

namespace Whitesky.Migration.Paths.Streaming;

/// <summary>
/// Path B, streaming import: each local image is decoded and its allocated data streamed into a new whitesky disk
/// over NBD with TLS-PSK. Per image: inspect (format, size, partition table, boot mode) → create a disk of whole GB
/// → expose it → transfer with <see cref="DiskTransfer"/> (the new disk reads as zero, so holes are never sent) →
/// flush → move a GPT's backup header to the disk's end → unexpose, always. Then the disks go into an existing VM
/// or a new one (the first image is the boot disk). Several images are imported in parallel.
/// </summary>
/// <remarks>
/// On failure or cancellation every exposure is ended, and the disks this import created are deleted unless
/// <see cref="StreamingImportOptions.KeepDisksOnFailure"/> is set; with a
/// <see cref="StreamingImportOptions.CheckpointDirectory"/> the same import run again continues into the kept disks
/// and sends only what is missing.
/// </remarks>
public sealed class StreamingDiskImport
{
    /// <summary>Bytes per whitesky "GB" (<c>disk_size</c>): the platform and the emulator size disks in GiB.</summary>
    public const long BytesPerGb = 1L << 30;

    private static readonly TimeSpan CleanupTimeout = TimeSpan.FromMinutes(1);

    private readonly WhiteskyClient _client;
    private readonly DiskTransferOptions _transferDefaults;
    private readonly ILoggerFactory? _loggerFactory;
    private readonly ILogger _logger;

    /// <summary>Creates the import over <paramref name="client"/> (its customer, cloudspace and location are used).</summary>
    /// <param name="client">The whitesky API.</param>
    /// <param name="transferDefaults">The transfer engine's settings when the options give none.</param>
    /// <param name="loggerFactory">Where to log (nothing when null).</param>
    public StreamingDiskImport(WhiteskyClient client, DiskTransferOptions? transferDefaults = null, ILoggerFactory? loggerFactory = null)
    {
        _client = client ?? throw new ArgumentNullException(nameof(client));
        _transferDefaults = transferDefaults ?? new DiskTransferOptions();
        _loggerFactory = loggerFactory;
        _logger = (ILogger?)loggerFactory?.CreateLogger<StreamingDiskImport>() ?? NullLogger.Instance;
    }

    /// <summary>The whitesky disk size in GB for an image of <paramref name="bytes"/> bytes: rounded up, at least 1.</summary>
    public static long DiskSizeGb(long bytes) => Math.Max(1, (bytes + BytesPerGb - 1) / BytesPerGb);

    /// <summary>Runs the import.</summary>
    /// <param name="options">What to import and where.</param>
    /// <param name="progress">Receives each disk's phase and the transfer's progress.</param>
    /// <param name="cancellationToken">Cancels the import (exposures are ended and created disks deleted unless kept).</param>
    /// <returns>The disks and the VM.</returns>
    /// <exception cref="StreamingImportException">A step failed; the message says which and what was cleaned up.</exception>
    /// <exception cref="StreamingImportCanceledException">Cancelled; the message says what was cleaned up.</exception>
    public async Task<StreamingImportResult> ImportAsync(StreamingImportOptions options, IProgress<StreamingImportProgress>? progress = null,
        CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        var started = TimeProvider.System.GetTimestamp();
        var jobs = options.Disks.Select((source, index) => new DiskJob(index, source)).ToList();

        using var stop = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        using var slots = new SemaphoreSlim(options.MaxParallelDisks, options.MaxParallelDisks);
        var tasks = jobs.Select(job => RunDiskAsync(job, options, slots, progress, stop)).ToList();
        try
        {
            await Task.WhenAll(tasks).ConfigureAwait(false);
        }
        catch (Exception)
        {
            // Each job holds its own failure; the first real one (not the cancellation it caused) is reported below.
        }

        var failed = jobs.FirstOrDefault(j => j.Failure is not null and not OperationCanceledException)
                     ?? jobs.FirstOrDefault(j => j.Failure is not null);
        if (failed is not null)
        {
            throw await FailAsync(jobs, failed, failed.Failure!, options, cancellationToken).ConfigureAwait(false);
        }

        var vmJob = jobs[0];
        long? vmId = options.VmId;
        string? bootType = null;
        try
        {
            if (options.NewVm is not null || options.VmId is not null)
            {
                Report(progress, vmJob, StreamingImportPhase.AttachingToVm);
            }

            if (options.NewVm is { } vm)
            {
                var type = vm.BootType ?? ToBootType(options.BootMode ?? jobs[0].Result!.Layout.BootMode);
                bootType = type.ToString();
                vmId = await _client.CreateVirtualMachineAsync(new CreateVirtualMachineRequest
                {
                    Name = vm.Name,
                    Description = vm.Description,
                    VCpus = vm.VCpus,
                    Memory = vm.MemoryMiB,
                    BootDiskId = jobs[0].DiskId,
                    DataDisks = jobs.Count > 1 ? [.. jobs.Skip(1).Select(j => j.DiskId!.Value)] : null,
                    BootType = type,
                    OsType = vm.OsType,
                    OsName = vm.OsName,
                    StartVm = vm.Start,
                }, cancellationToken).ConfigureAwait(false);
                StreamingImportLog.VmCreated(_logger, vmId.Value, bootType, jobs[0].DiskId!.Value, jobs.Count - 1);
            }
            else if (options.VmId is { } existing)
            {
                foreach (var job in jobs)
                {
                    await _client.AttachDiskAsync(existing, job.DiskId!.Value, cancellationToken).ConfigureAwait(false);
                    job.Attached = true;
                    StreamingImportLog.Attached(_logger, job.DiskId.Value, existing);
                }
            }
        }
        catch (Exception ex)
        {
            vmJob.Phase = StreamingImportPhase.AttachingToVm;
            throw await FailAsync(jobs, vmJob, ex, options, cancellationToken).ConfigureAwait(false);
        }

        foreach (var job in jobs)
        {
            DeleteStateFile(job, options);
            Report(progress, job, StreamingImportPhase.Completed);
        }

        return new StreamingImportResult
        {
            Disks = [.. jobs.Select(j => j.Result!)],
            VmId = vmId,
            VmCreated = options.NewVm is not null,
            BootType = bootType,
            Duration = TimeProvider.System.GetElapsedTime(started),
        };
    }

    private static BootType ToBootType(GuestBootMode mode) => mode == GuestBootMode.Uefi ? BootType.Uefi : BootType.Bios;

    private static void Report(IProgress<StreamingImportProgress>? progress, DiskJob job, StreamingImportPhase phase, TransferProgress? transfer = null)
    {
        job.Phase = phase;
        progress?.Report(new StreamingImportProgress
        {
            DiskIndex = job.Index,
            ImagePath = job.Source.ImagePath,
            Phase = phase,
            DiskId = job.DiskId,
            Transfer = transfer,
        });
    }

    private async Task RunDiskAsync(DiskJob job, StreamingImportOptions options, SemaphoreSlim slots, IProgress<StreamingImportProgress>? progress,
        CancellationTokenSource stop)
    {
        try
        {
            await slots.WaitAsync(stop.Token).ConfigureAwait(false);
            try
            {
                job.Result = await ImportDiskAsync(job, options, progress, stop.Token).ConfigureAwait(false);
            }
            finally
            {
                slots.Release();
            }
        }
        catch (Exception ex)
        {
            job.Failure = ex;

            // One failed disk fails the operation: the others stop (and are cleaned up with it).
            await stop.CancelAsync().ConfigureAwait(false);
        }
    }

    private async Task<ImportedDisk> ImportDiskAsync(DiskJob job, StreamingImportOptions options, IProgress<StreamingImportProgress>? progress,
        CancellationToken cancellationToken)
    {
        var source = job.Source;
        var imagePath = Path.GetFullPath(source.ImagePath);
        Report(progress, job, StreamingImportPhase.Inspecting);
        var image = await DiskImage.OpenAsync(imagePath, new DiskImageOptions { Format = source.Format }, cancellationToken).ConfigureAwait(false);
        await using (image.ConfigureAwait(false))
        {
            var info = image.Describe();
            var layout = await GuestDiskInspector.InspectAsync(image, cancellationToken).ConfigureAwait(false);
            var sizeGb = DiskSizeGb(image.Capacity);
            StreamingImportLog.Inspected(_logger, imagePath, info.Format, image.Capacity, layout.Scheme.ToString(), layout.BootMode.ToString(), sizeGb);

            Report(progress, job, StreamingImportPhase.CreatingDisk);
            var existing = source.ExistingDiskId ?? await ReadStateFileAsync(job, options, imagePath, cancellationToken).ConfigureAwait(false);
            Whitesky.Api.Models.DiskInfo? disk = null;
            if (existing is { } recorded && source.ExistingDiskId is null)
            {
                try
                {
                    disk = await _client.GetDiskAsync(recorded, cancellationToken).ConfigureAwait(false);
                }
                catch (WhiteskyApiException ex) when (ex.StatusCode == System.Net.HttpStatusCode.NotFound)
                {
                    // The disk an earlier run recorded is gone: start over into a new one.
                    DeleteStateFile(job, options);
                    DeleteCheckpoint(job, options);
                    job.Created = false;
                    existing = null;
                }
            }

            if (existing is { } existingId)
            {
                disk ??= await _client.GetDiskAsync(existingId, cancellationToken).ConfigureAwait(false);
                if (disk.DiskSize is { } size && size * BytesPerGb < image.Capacity)
                {
                    throw new StreamingImportException(string.Create(CultureInfo.InvariantCulture,
                        $"Disk {existingId} has {size} GB, too small for {imagePath} ({image.Capacity} bytes)."));
                }

                job.DiskId = existingId;
                job.Resumed = true;
                job.DiskSizeGb = disk.DiskSize ?? sizeGb;
                StreamingImportLog.DiskResumed(_logger, imagePath, existingId);
            }
            else
            {
                var name = source.DiskName ?? DefaultDiskName(imagePath, job.Index);
                var diskId = await _client.CreateDiskAsync(new CreateDiskRequest
                {
                    DiskName = name,
                    Description = $"Imported from {Path.GetFileName(imagePath)} ({info.Format}) by the Whitesky SDK",
                    DiskSize = sizeGb,
                    DiskType = job.Index == 0 && options.NewVm is not null ? DiskType.Boot : DiskType.Data,
                }, cancellationToken).ConfigureAwait(false);
                job.DiskId = diskId;
                job.Created = true;
                job.DiskSizeGb = sizeGb;
                StreamingImportLog.DiskCreated(_logger, diskId, imagePath);
                await WriteStateFileAsync(job, options, imagePath, cancellationToken).ConfigureAwait(false);
                await _client.WaitForDiskCreatedAsync(diskId, options.DiskReadyTimeout, cancellationToken).ConfigureAwait(false);
            }

            var diskBytes = job.DiskSizeGb * BytesPerGb;
            Report(progress, job, StreamingImportPhase.Exposing);
            TransferSummary summary;
            GptRelocationResult? relocation = null;
            try
            {
                var exposure = await _client.ExposeDiskAsync(job.DiskId.Value, options.MaxConnections, cancellationToken: cancellationToken).ConfigureAwait(false);
                job.Exposed = true;
                var endpoint = exposure.Endpoint;
                if (endpoint is not { Address: { } address, Port: { } port, Name: { } export, User: { } user, Psk: { } psk })
                {
                    throw new StreamingImportException($"Exposing disk {job.DiskId} answered no complete endpoint (address, port, name, user and psk are needed).");
                }

                StreamingImportLog.Exposed(_logger, job.DiskId.Value, address, port, export, options.MaxConnections);
                var sink = await NbdBlockSink.ConnectAsync(new NbdClientOptions
                {
                    Endpoint = NbdEndpoint.Tcp(address, checked((int)port)),
                    ExportName = export,
                    TlsMode = NbdTlsMode.Required,
                    TlsPsk = NbdTlsPsk.FromHex(user, psk),
                    Connections = options.MaxConnections,
                    LoggerFactory = _loggerFactory,
                }, cancellationToken).ConfigureAwait(false);
                await using (sink.ConfigureAwait(false))
                {
                    Report(progress, job, StreamingImportPhase.Transferring);
                    var transferOptions = (options.Transfer ?? _transferDefaults) with
                    {
                        // A new disk reads as zero: holes are skipped. A disk continued into keeps what its checkpoint says.
                        TargetIsZero = job.Created ? true : (options.Transfer ?? _transferDefaults).TargetIsZero,
                        Flush = true,
                        CheckpointStore = options.CheckpointDirectory is null ? null : new FileTransferCheckpointStore(CheckpointPath(options, imagePath)),
                        SourceIdentity = SourceIdentity(imagePath),
                        TargetIdentity = string.Create(CultureInfo.InvariantCulture, $"whitesky disk {job.DiskId}"),
                    };
                    var engine = new DiskTransfer(transferOptions, _loggerFactory);
                    summary = await engine.CopyAsync(image, sink, new SynchronousProgress(p => Report(progress, job, StreamingImportPhase.Transferring, p)),
                        cancellationToken).ConfigureAwait(false);

                    if (options.RelocateGptBackup && layout.Scheme == PartitionScheme.Gpt && diskBytes > image.Capacity)
                    {
                        Report(progress, job, StreamingImportPhase.RelocatingGpt);
                        relocation = await GptBackupRelocation.MoveBackupToEndAsync(sink.Client, cancellationToken).ConfigureAwait(false);
                        if (relocation.Moved)
                        {
                            StreamingImportLog.GptMoved(_logger, job.DiskId.Value, relocation.OldBackupOffset, relocation.NewBackupOffset);
                        }
                    }
                }
            }
            finally
            {
                await UnexposeAsync(job, progress).ConfigureAwait(false);
            }

            return new ImportedDisk(imagePath, info.Format, image.Capacity, job.DiskId.Value, job.DiskSizeGb, !job.Resumed, layout, summary, relocation);
        }
    }

    /// <summary>Ends the exposure whatever happened, with its own time limit (the caller's token may be cancelled).</summary>
    private async Task UnexposeAsync(DiskJob job, IProgress<StreamingImportProgress>? progress)
    {
        if (!job.Exposed || job.DiskId is not { } diskId)
        {
            return;
        }

        var phase = job.Phase;
        Report(progress, job, StreamingImportPhase.Unexposing);
        job.Phase = phase;
        using var timeout = new CancellationTokenSource(CleanupTimeout);
        try
        {
            await _client.UnexposeDiskAsync(diskId, timeout.Token).ConfigureAwait(false);
            job.Exposed = false;
            job.Unexposed = true;
            StreamingImportLog.Unexposed(_logger, diskId);
        }
        catch (Exception ex) when (ex is WhiteskyApiException or OperationCanceledException or HttpRequestException)
        {
            var problem = string.Create(CultureInfo.InvariantCulture, $"disk {diskId} could not be unexposed ({ex.Message}); unexpose it by hand");
            job.CleanupProblems.Add(problem);
            StreamingImportLog.CleanupFailed(_logger, problem);
        }
    }

    private async Task<Exception> FailAsync(List<DiskJob> jobs, DiskJob failed, Exception cause, StreamingImportOptions options, CancellationToken cancellationToken)
    {
        var deleted = new List<long>();
        var kept = new List<long>();
        var problems = new List<string>();
        foreach (var job in jobs)
        {
            problems.AddRange(job.CleanupProblems);
            if (job.DiskId is not { } diskId)
            {
                continue;
            }

            if (!job.Created || options.KeepDisksOnFailure)
            {
                kept.Add(diskId);
                continue;
            }

            using var timeout = new CancellationTokenSource(CleanupTimeout);
            try
            {
                if (job.Exposed)
                {
                    await _client.UnexposeDiskAsync(diskId, timeout.Token).ConfigureAwait(false);
                    job.Exposed = false;
                }

                await _client.DeleteDiskAsync(diskId, detach: true, permanently: true, timeout.Token).ConfigureAwait(false);
                deleted.Add(diskId);
                DeleteStateFile(job, options);
                DeleteCheckpoint(job, options);
                StreamingImportLog.DiskDeleted(_logger, diskId);
            }
            catch (Exception ex) when (ex is WhiteskyApiException or OperationCanceledException or HttpRequestException)
            {
                kept.Add(diskId);
                var problem = string.Create(CultureInfo.InvariantCulture, $"disk {diskId} could not be deleted ({ex.Message}); delete it by hand");
                problems.Add(problem);
                StreamingImportLog.CleanupFailed(_logger, problem);
            }
        }

        var unexposed = jobs.Where(j => j.Unexposed).Select(j => j.DiskId!.Value).ToList();
        var failure = new StreamingImportFailure(Path.GetFullPath(failed.Source.ImagePath), failed.DiskId, failed.Phase, deleted, kept, unexposed, problems,
            options.CheckpointDirectory);
        var cleanup = DescribeCleanup(failure, options);
        if (cause is OperationCanceledException canceled && cancellationToken.IsCancellationRequested)
        {
            return new StreamingImportCanceledException($"The import was cancelled while {Describe(failure.Phase)} {failure.ImagePath}. {cleanup}", failure, canceled);
        }

        var disk = failed.DiskId is { } id ? string.Create(CultureInfo.InvariantCulture, $" (disk {id})") : string.Empty;
        var what = failed.Phase == StreamingImportPhase.AttachingToVm
            ? options.NewVm is not null ? "creating the VM" : string.Create(CultureInfo.InvariantCulture, $"attaching the disks to VM {options.VmId}")
            : $"{Describe(failure.Phase)} {failure.ImagePath}{disk}";
        return new StreamingImportException($"The import failed while {what}: {cause.Message} {cleanup}", failure, cause);
    }

    private static string DescribeCleanup(StreamingImportFailure failure, StreamingImportOptions options)
    {
        var parts = new List<string>();
        if (failure.UnexposedDiskIds.Count > 0)
        {
            parts.Add($"unexposed disk(s) {string.Join(", ", failure.UnexposedDiskIds)}");
        }

        if (failure.DeletedDiskIds.Count > 0)
        {
            parts.Add($"deleted disk(s) {string.Join(", ", failure.DeletedDiskIds)}");
        }

        if (failure.KeptDiskIds.Count > 0)
        {
            var why = options.KeepDisksOnFailure ? "as asked" : "not created by this import";
            var resume = options.CheckpointDirectory is null ? string.Empty : $"; run the same import with the checkpoint folder {options.CheckpointDirectory} to continue";
            parts.Add($"kept disk(s) {string.Join(", ", failure.KeptDiskIds)} ({why}{resume})");
        }

        parts.AddRange(failure.CleanupProblems);
        return parts.Count == 0 ? "Nothing needed cleaning up." : "Cleaned up: " + string.Join("; ", parts) + ".";
    }

    private static string Describe(StreamingImportPhase phase) => phase switch
    {
        StreamingImportPhase.Inspecting => "inspecting",
        StreamingImportPhase.CreatingDisk => "creating the disk for",
        StreamingImportPhase.Exposing => "exposing the disk for",
        StreamingImportPhase.Transferring => "transferring",
        StreamingImportPhase.RelocatingGpt => "relocating the GPT backup of",
        StreamingImportPhase.Unexposing => "unexposing the disk of",
        StreamingImportPhase.AttachingToVm => "attaching",
        _ => "importing",
    };

    private static string DefaultDiskName(string imagePath, int index)
    {
        var name = Path.GetFileNameWithoutExtension(imagePath);
        return string.IsNullOrWhiteSpace(name) ? string.Create(CultureInfo.InvariantCulture, $"imported-disk-{index}") : name;
    }

    /// <summary>The path, size and modification time: a changed image never resumes into an old checkpoint.</summary>
    private static string SourceIdentity(string imagePath)
    {
        var file = new FileInfo(imagePath);
        return string.Create(CultureInfo.InvariantCulture, $"{imagePath}|{file.Length}|{file.LastWriteTimeUtc.Ticks}");
    }

    private static string StateBaseName(StreamingImportOptions options, string imagePath)
    {
        var hash = Convert.ToHexStringLower(System.IO.Hashing.XxHash64.Hash(System.Text.Encoding.UTF8.GetBytes(imagePath)));
        return Path.Combine(options.CheckpointDirectory!, $"{Path.GetFileName(imagePath)}.{hash}");
    }

    private static string CheckpointPath(StreamingImportOptions options, string imagePath) => StateBaseName(options, imagePath) + ".checkpoint.json";

    private static string StatePath(StreamingImportOptions options, string imagePath) => StateBaseName(options, imagePath) + ".disk";

    private static async Task<long?> ReadStateFileAsync(DiskJob job, StreamingImportOptions options, string imagePath, CancellationToken cancellationToken)
    {
        if (options.CheckpointDirectory is null || !File.Exists(StatePath(options, imagePath)))
        {
            return null;
        }

        var text = await File.ReadAllTextAsync(StatePath(options, imagePath), cancellationToken).ConfigureAwait(false);
        if (text.Length > 32 || !long.TryParse(text.Trim(), NumberStyles.None, CultureInfo.InvariantCulture, out var diskId))
        {
            throw new StreamingImportException($"{StatePath(options, imagePath)} does not hold a disk id; delete it to start over.");
        }

        // The disk was created by an earlier run of this import: it may be deleted again on failure.
        job.Created = true;
        return diskId;
    }

    private static async Task WriteStateFileAsync(DiskJob job, StreamingImportOptions options, string imagePath, CancellationToken cancellationToken)
    {
        if (options.CheckpointDirectory is null)
        {
            return;
        }

        Directory.CreateDirectory(options.CheckpointDirectory);
        await File.WriteAllTextAsync(StatePath(options, imagePath), job.DiskId!.Value.ToString(CultureInfo.InvariantCulture), cancellationToken).ConfigureAwait(false);
    }

    private static void DeleteStateFile(DiskJob job, StreamingImportOptions options)
    {
        if (options.CheckpointDirectory is not null)
        {
            File.Delete(StatePath(options, Path.GetFullPath(job.Source.ImagePath)));
        }
    }

    private static void DeleteCheckpoint(DiskJob job, StreamingImportOptions options)
    {
        if (options.CheckpointDirectory is not null)
        {
            File.Delete(CheckpointPath(options, Path.GetFullPath(job.Source.ImagePath)));
        }
    }

    /// <summary>Reports on the caller's thread: <see cref="Progress{T}"/> would post to the thread pool and reorder reports.</summary>
    private sealed class SynchronousProgress(Action<TransferProgress> report) : IProgress<TransferProgress>
    {
        public void Report(TransferProgress value) => report(value);
    }

    private sealed class DiskJob(int index, StreamingImportSource source)
    {
        public int Index { get; } = index;

        public StreamingImportSource Source { get; } = source;

        public StreamingImportPhase Phase { get; set; } = StreamingImportPhase.Inspecting;

        public long? DiskId { get; set; }

        public long DiskSizeGb { get; set; }

        /// <summary>Whether an earlier or this run of the import created the disk (so that a failure may delete it).</summary>
        public bool Created { get; set; }

        /// <summary>Whether the disk existed before this run (continued into).</summary>
        public bool Resumed { get; set; }

        public bool Exposed { get; set; }

        public bool Unexposed { get; set; }

        public bool Attached { get; set; }

        public List<string> CleanupProblems { get; } = [];

        public ImportedDisk? Result { get; set; }

        public Exception? Failure { get; set; }
    }
}
