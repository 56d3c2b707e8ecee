using System.Buffers;
using System.Globalization;
using System.IO.Compression;
using System.Net;
using Amazon.S3;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Whitesky.DiskFormats;
using Whitesky.Migration.Ovf;
using Whitesky.Migration.S3;

namespace Whitesky.Emulator.Importing;

/// <summary>
/// The emulator's <c>import-vm-s3</c>, done the way the platform does it: downloads the object from the request's S3
/// endpoint (path-style, <c>link</c> as the service URL), reads it as an OVA (or an <c>.ovf</c> whose files sit next
/// to it in the bucket), validates it (manifest digests included), and decodes each disk (streamOptimized or sparse
/// VMDK, QCOW2, raw, ...) into a new sparse disk of whole GiB, boot disk first. The request's <c>vcpus</c>,
/// <c>memory</c>, <c>boot_type</c>, <c>os_type</c> and <c>os_name</c> define the VM (the caller fills them from the
/// OVF); with <c>strict</c>, an OVF whose CPU count, memory or firmware differs from them fails the import.
/// </summary>
public sealed partial class S3OvfVmImporter : IVmImporter
{
    private const long GiB = 1L << 30;
    private const int CopyBufferSize = 1 << 20;
    private readonly ILogger _logger;

    /// <summary>Creates the importer.</summary>
    /// <param name="logger">Receives one line per step; the S3 secret is never logged.</param>
    public S3OvfVmImporter(ILogger<S3OvfVmImporter>? logger = null) => _logger = logger ?? (ILogger)NullLogger.Instance;

    /// <inheritdoc />
    public async Task<IReadOnlyList<int>> ImportAsync(VmImportRequest request, IVmImportTarget target, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(request);
        ArgumentNullException.ThrowIfNull(target);
        if (!Uri.TryCreate(request.Link, UriKind.Absolute, out var endpoint) || endpoint.Scheme is not ("http" or "https"))
        {
            throw new InvalidDataException($"link '{request.Link}' is not an http(s) URL of an S3 endpoint");
        }

        var storage = new S3StorageOptions { Endpoint = endpoint, AccessKey = request.Key, SecretKey = request.Secret, Region = request.Region };
        string packagePath;
        using (var s3 = storage.CreateClient())
        {
            LogDownloading(_logger, target.VmId, request.Bucket, request.ObjectName, endpoint);
            packagePath = await DownloadPackageAsync(s3, request, target.ScratchDirectory, cancellationToken).ConfigureAwait(false);
        }

        using var package = await OvfPackage.OpenAsync(packagePath, cancellationToken).ConfigureAwait(false);
        var report = await package.ValidateAsync(cancellationToken: cancellationToken).ConfigureAwait(false);
        if (!report.IsValid)
        {
            throw new InvalidDataException($"s3://{request.Bucket}/{request.ObjectName} is not an importable OVF package: {string.Join("; ", report.Errors)}");
        }

        var system = package.Envelope.VirtualSystems[0];
        if (request.Strict)
        {
            CheckStrict(request, system);
        }

        var disks = new List<int>();
        var ordered = OrderDisks(package.Envelope, system);
        for (var i = 0; i < ordered.Count; i++)
        {
            var ovfDisk = ordered[i];
            var file = (ovfDisk.FileRef is { } fileRef ? package.Envelope.FindFile(fileRef) : null)
                       ?? throw new InvalidDataException($"disk '{ovfDisk.DiskId}' of {package.DescriptorName} names no file (empty disks are not imported)");
            var source = await OpenDiskSourceAsync(package, file, target.ScratchDirectory, cancellationToken).ConfigureAwait(false);
            await using (source.ConfigureAwait(false))
            {
                var image = await DiskImage.OpenAsync(source, cancellationToken: cancellationToken).ConfigureAwait(false);
                await using (image.ConfigureAwait(false))
                {
                    var capacity = Math.Max(ovfDisk.CapacityBytes, image.Capacity);
                    var sizeGb = (int)Math.Clamp((capacity + GiB - 1) / GiB, 1, int.MaxValue);
                    var disk = await target.CreateDiskAsync($"{request.Name}-disk{i + 1}", sizeGb, cancellationToken).ConfigureAwait(false);
                    LogDecoding(_logger, target.VmId, file.Href, disk.DiskId, sizeGb);
                    await CopyAsync(image, disk.Path, cancellationToken).ConfigureAwait(false);
                    disks.Add(disk.DiskId);
                }
            }
        }

        LogImported(_logger, target.VmId, disks.Count);
        return disks;
    }

    private static async Task<string> DownloadPackageAsync(IAmazonS3 s3, VmImportRequest request, string scratch, CancellationToken cancellationToken)
    {
        var key = request.ObjectName;
        if (!key.EndsWith(".ovf", StringComparison.OrdinalIgnoreCase))
        {
            var ova = Path.Combine(scratch, "package.ova");
            await DownloadAsync(s3, request.Bucket, key, ova, required: true, cancellationToken).ConfigureAwait(false);
            return ova;
        }

        // An .ovf object: its files are objects beside it (same prefix), as ovftool uploads a folder.
        var slash = key.LastIndexOf('/');
        var prefix = slash >= 0 ? key[..(slash + 1)] : string.Empty;
        var descriptorName = key[(slash + 1)..];
        var descriptor = Path.Combine(scratch, descriptorName);
        await DownloadAsync(s3, request.Bucket, key, descriptor, required: true, cancellationToken).ConfigureAwait(false);
        var envelope = await OvfReader.ReadAsync(descriptor, cancellationToken).ConfigureAwait(false);
        foreach (var name in envelope.Files.SelectMany(f => f.StoredNames))
        {
            var local = Path.Combine(scratch, name);
            Directory.CreateDirectory(Path.GetDirectoryName(local)!);
            await DownloadAsync(s3, request.Bucket, prefix + name, local, required: false, cancellationToken).ConfigureAwait(false);
        }

        var manifest = Path.ChangeExtension(descriptorName, ".mf");
        await DownloadAsync(s3, request.Bucket, prefix + manifest, Path.Combine(scratch, manifest), required: false, cancellationToken).ConfigureAwait(false);
        return descriptor;
    }

    private static async Task DownloadAsync(IAmazonS3 s3, string bucket, string key, string path, bool required, CancellationToken cancellationToken)
    {
        try
        {
            using var response = await s3.GetObjectAsync(bucket, key, cancellationToken).ConfigureAwait(false);
            var output = new FileStream(path, FileMode.Create, FileAccess.Write, FileShare.None, CopyBufferSize, FileOptions.Asynchronous);
            await using (output.ConfigureAwait(false))
            {
                await response.ResponseStream.CopyToAsync(output, CopyBufferSize, cancellationToken).ConfigureAwait(false);
            }
        }
        catch (AmazonS3Exception e) when (e.StatusCode == HttpStatusCode.NotFound && !required)
        {
            // A missing file of an .ovf is reported by the validation, which names it.
        }
        catch (AmazonS3Exception e)
        {
            throw new IOException($"s3://{bucket}/{key} could not be read: {(int)e.StatusCode} {e.ErrorCode}: {e.Message}", e);
        }
        catch (Exception e) when (e is Amazon.Runtime.AmazonServiceException or Amazon.Runtime.AmazonClientException or HttpRequestException && !cancellationToken.IsCancellationRequested)
        {
            throw new IOException($"s3://{bucket}/{key} could not be read from the S3 endpoint: {e.Message}", e);
        }
    }

    private static List<OvfDisk> OrderDisks(OvfEnvelope envelope, OvfVirtualSystem system)
    {
        // The hardware section's disk order (boot disk first, as ovftool writes it); disks no drive names follow.
        var ordered = system.Hardware.DiskDrives
            .Select(d => d.DiskId is { } id ? envelope.FindDisk(id) : null)
            .OfType<OvfDisk>()
            .Distinct()
            .ToList();
        ordered.AddRange(envelope.Disks.Where(d => !ordered.Contains(d)));
        return ordered;
    }

    private static async Task<IRandomAccessSource> OpenDiskSourceAsync(OvfPackage package, OvfFileReference file, string scratch, CancellationToken cancellationToken)
    {
        if (!file.IsCompressed && file.StoredNames.Count == 1)
        {
            return new SeekableStreamSource(package.OpenRead(file.StoredNames[0]), file.Href);
        }

        // gzip-compressed or chunked: joined (and inflated) into one scratch file first.
        var joined = Path.Combine(scratch, "disk-" + Guid.NewGuid().ToString("N") + ".img");
        var output = new FileStream(joined, FileMode.Create, FileAccess.Write, FileShare.None, CopyBufferSize, FileOptions.Asynchronous);
        await using (output.ConfigureAwait(false))
        {
            Stream parts = new ConcatenatedStream(file.StoredNames.Select(package.OpenRead));
            await using (parts.ConfigureAwait(false))
            {
                var input = file.IsCompressed ? new GZipStream(parts, CompressionMode.Decompress) : parts;
                await using (input.ConfigureAwait(false))
                {
                    await input.CopyToAsync(output, CopyBufferSize, cancellationToken).ConfigureAwait(false);
                }
            }
        }

        return FileSource.Open(joined);
    }

    private static async Task CopyAsync(IVirtualDisk image, string diskPath, CancellationToken cancellationToken)
    {
        using var handle = File.OpenHandle(diskPath, FileMode.Open, FileAccess.Write, FileShare.ReadWrite, FileOptions.Asynchronous);
        var buffer = ArrayPool<byte>.Shared.Rent(CopyBufferSize);
        try
        {
            await foreach (var extent in image.GetExtentsAsync(0, image.Capacity, cancellationToken).ConfigureAwait(false))
            {
                if (extent.Kind != DiskExtentKind.Data)
                {
                    continue;
                }

                for (var offset = extent.Offset; offset < extent.End;)
                {
                    var length = (int)Math.Min(CopyBufferSize, extent.End - offset);
                    var chunk = buffer.AsMemory(0, length);
                    await image.ReadAsync(offset, chunk, cancellationToken).ConfigureAwait(false);
                    if (chunk.Span.ContainsAnyExcept((byte)0))
                    {
                        // Zero runs stay holes of the sparse disk file.
                        await RandomAccess.WriteAsync(handle, chunk, offset, cancellationToken).ConfigureAwait(false);
                    }

                    offset += length;
                }
            }
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    private static void CheckStrict(VmImportRequest request, OvfVirtualSystem system)
    {
        var hardware = system.Hardware;
        List<string> differences = [];
        if (hardware.Cpus is { } cpus && cpus != request.Vcpus)
        {
            differences.Add(string.Create(CultureInfo.InvariantCulture, $"vcpus {request.Vcpus} (the OVF has {cpus})"));
        }

        if (hardware.MemoryMiB is { } memory && memory != request.Memory)
        {
            differences.Add(string.Create(CultureInfo.InvariantCulture, $"memory {request.Memory} MiB (the OVF has {memory} MiB)"));
        }

        var uefi = request.BootType.StartsWith("uefi", StringComparison.OrdinalIgnoreCase);
        if (hardware.Firmware != OvfFirmware.Unspecified && (hardware.Firmware == OvfFirmware.Efi) != uefi)
        {
            differences.Add($"boot_type {request.BootType} (the OVF's firmware is {hardware.Firmware})");
        }

        if (differences.Count > 0)
        {
            throw new InvalidDataException("strict import: the request asks for " + string.Join(", ", differences));
        }
    }

    [LoggerMessage(EventId = 10, Level = LogLevel.Information, Message = "VM {VmId}: downloading s3://{Bucket}/{ObjectName} from {Endpoint}")]
    private static partial void LogDownloading(ILogger logger, int vmId, string bucket, string objectName, Uri endpoint);

    [LoggerMessage(EventId = 11, Level = LogLevel.Information, Message = "VM {VmId}: decoding {File} into disk {DiskId} ({SizeGb} GiB)")]
    private static partial void LogDecoding(ILogger logger, int vmId, string file, int diskId, int sizeGb);

    [LoggerMessage(EventId = 12, Level = LogLevel.Information, Message = "VM {VmId}: imported {Disks} disk(s)")]
    private static partial void LogImported(ILogger logger, int vmId, int disks);
}
