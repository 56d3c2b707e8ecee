using System.Buffers.Binary;
using System.Text;
using Microsoft.Win32.SafeHandles;

namespace Whitesky.Migration.Ovf;

/// <summary>
/// An OVF package: an <c>.ovf</c> descriptor with its files in a folder, or an <c>.ova</c> archive. Gives the
/// parsed descriptor and manifest, reads the package's files (never outside the package), and validates the
/// whole before anything is uploaded.
/// </summary>
public sealed class OvfPackage : IDisposable
{
    private const uint Qcow2Magic = 0x514649FB;
    private const uint VmdkSparseMagic = 0x564D444B;

    private readonly SafeFileHandle? _archive;
    private readonly Dictionary<string, TarEntry> _entries;
    private readonly string? _folder;

    private OvfPackage(string path, string descriptorName, OvfEnvelope envelope, OvfManifest? manifest, string? manifestName,
        SafeFileHandle? archive, Dictionary<string, TarEntry> entries, string? folder, bool descriptorFirst)
    {
        Path = path;
        DescriptorName = descriptorName;
        Envelope = envelope;
        Manifest = manifest;
        ManifestName = manifestName;
        _archive = archive;
        _entries = entries;
        _folder = folder;
        DescriptorIsFirst = descriptorFirst;
    }

    /// <summary>The <c>.ovf</c> or <c>.ova</c> file.</summary>
    public string Path { get; }

    /// <summary>True for an <c>.ova</c> archive.</summary>
    public bool IsArchive => _archive is not null;

    /// <summary>The descriptor's file name.</summary>
    public string DescriptorName { get; }

    /// <summary>The parsed descriptor.</summary>
    public OvfEnvelope Envelope { get; }

    /// <summary>The parsed manifest, or null when the package has none.</summary>
    public OvfManifest? Manifest { get; }

    /// <summary>The manifest's file name, or null.</summary>
    public string? ManifestName { get; }

    /// <summary>In an archive, whether the descriptor is the first entry (as the OVF standard requires).</summary>
    public bool DescriptorIsFirst { get; }

    /// <summary>Opens an <c>.ova</c> archive or an <c>.ovf</c> descriptor (whose files sit next to it).</summary>
    /// <exception cref="OvfException">The archive, descriptor or manifest is malformed or hostile.</exception>
    public static async Task<OvfPackage> OpenAsync(string path, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        path = System.IO.Path.GetFullPath(path);
        return path.EndsWith(".ova", StringComparison.OrdinalIgnoreCase) || IsTar(path)
            ? await OpenArchiveAsync(path, cancellationToken).ConfigureAwait(false)
            : await OpenFolderAsync(path, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>The length of a file of the package, or null when it is not there.</summary>
    public long? GetLength(string name)
    {
        ArgumentNullException.ThrowIfNull(name);
        if (_archive is not null)
        {
            return _entries.TryGetValue(name, out var entry) ? entry.Length : null;
        }

        var full = Resolve(name);
        return full is not null && File.Exists(full) ? new FileInfo(full).Length : null;
    }

    /// <summary>Opens a file of the package for reading.</summary>
    /// <exception cref="FileNotFoundException">The package has no such file.</exception>
    /// <exception cref="OvfException">The name would leave the package.</exception>
    public Stream OpenRead(string name)
    {
        ArgumentNullException.ThrowIfNull(name);
        OvfReader.CheckPackagePath(name, System.IO.Path.GetFileName(Path), "file name");
        if (_archive is not null)
        {
            return _entries.TryGetValue(name, out var entry)
                ? new PackageEntryStream(_archive, entry.DataOffset, entry.Length, ownsHandle: false)
                : throw new FileNotFoundException($"{System.IO.Path.GetFileName(Path)} has no entry '{name}'", name);
        }

        var full = Resolve(name) ?? throw new FileNotFoundException($"'{name}' is not in the package folder", name);
        return new FileStream(full, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 16, FileOptions.Asynchronous | FileOptions.SequentialScan);
    }

    /// <summary>
    /// Checks the package before anything is uploaded: missing files, sizes, chunk parts, manifest digests
    /// (streamed), disk formats and their content, and hardware whitesky cannot match.
    /// </summary>
    public async Task<OvfValidationReport> ValidateAsync(OvfValidationOptions? options = null, CancellationToken cancellationToken = default)
    {
        options ??= new OvfValidationOptions();
        List<OvfFinding> findings = [];
        void Add(OvfFindingSeverity severity, string code, string subject, string message) => findings.Add(new OvfFinding(severity, code, subject, message));

        if (IsArchive && !DescriptorIsFirst)
        {
            Add(OvfFindingSeverity.Warning, OvfFindingCodes.DescriptorNotFirst, DescriptorName, "the descriptor is not the first entry of the OVA; streaming readers expect it first");
        }

        foreach (var section in Envelope.IgnoredSections)
        {
            Add(OvfFindingSeverity.Info, OvfFindingCodes.IgnoredSection, section, "not understood and not required: ignored");
        }

        foreach (var file in Envelope.Files)
        {
            CheckFile(file, Add);
        }

        CheckDisks(Add);
        await CheckDiskContentAsync(Add, cancellationToken).ConfigureAwait(false);
        CheckSystems(Add);
        await CheckManifestAsync(options, Add, cancellationToken).ConfigureAwait(false);
        return new OvfValidationReport([.. findings.OrderByDescending(f => f.Severity)]);
    }

    /// <inheritdoc />
    public void Dispose() => _archive?.Dispose();

    private void CheckFile(OvfFileReference file, Action<OvfFindingSeverity, string, string, string> add)
    {
        if (file.IsCompressed)
        {
            add(OvfFindingSeverity.Warning, OvfFindingCodes.CompressedFile, file.Href, "the file is gzip-compressed in the package; it is decompressed on import");
        }

        if (file.ChunkSize is { } chunk && file.Size is { } total)
        {
            add(OvfFindingSeverity.Warning, OvfFindingCodes.ChunkedFile, file.Href, $"the file is split in parts of {chunk} bytes");
            long sum = 0;
            var parts = file.StoredNames;
            for (var i = 0; i < parts.Count; i++)
            {
                if (GetLength(parts[i]) is not { } length)
                {
                    add(OvfFindingSeverity.Error, OvfFindingCodes.MissingFile, parts[i], $"part {i} of '{file.Href}' is not in the package");
                    continue;
                }

                if (i < parts.Count - 1 && length != chunk)
                {
                    add(OvfFindingSeverity.Error, OvfFindingCodes.SizeMismatch, parts[i], $"part {i} has {length} bytes, every part but the last must have the chunk size {chunk}");
                }

                sum += length;
            }

            if (parts.All(p => GetLength(p) is not null) && sum != total)
            {
                add(OvfFindingSeverity.Error, OvfFindingCodes.SizeMismatch, file.Href, $"the parts hold {sum} bytes, the descriptor says {total}");
            }

            return;
        }

        if (GetLength(file.Href) is not { } actual)
        {
            add(OvfFindingSeverity.Error, OvfFindingCodes.MissingFile, file.Href, $"the descriptor names '{file.Href}' (id {file.Id}) but the package does not have it");
        }
        else if (file.Size is { } declared && declared != actual)
        {
            add(OvfFindingSeverity.Error, OvfFindingCodes.SizeMismatch, file.Href, $"the file has {actual} bytes, the descriptor says {declared} (truncated or replaced?)");
        }
    }

    private void CheckDisks(Action<OvfFindingSeverity, string, string, string> add)
    {
        foreach (var disk in Envelope.Disks)
        {
            if (disk.CapacityBytes == 0)
            {
                add(OvfFindingSeverity.Error, OvfFindingCodes.ZeroCapacity, disk.DiskId, "the disk's capacity is zero");
            }

            if (disk.FileRef is null)
            {
                add(OvfFindingSeverity.Warning, OvfFindingCodes.EmptyDisk, disk.DiskId, "the disk has no file: it would be created empty");
                continue;
            }

            if (disk.Format is OvfDiskFormat.Unknown or OvfDiskFormat.VmdkOther)
            {
                add(OvfFindingSeverity.Error, OvfFindingCodes.UnsupportedDiskFormat, disk.DiskId,
                    $"the format '{disk.FormatUri}' is not supported (VMDK streamOptimized or sparse, QCOW2 and raw are); convert the disk or rebuild the package with OvaBuilder");
            }
        }
    }

    private async Task CheckDiskContentAsync(Action<OvfFindingSeverity, string, string, string> add, CancellationToken cancellationToken)
    {
        foreach (var disk in Envelope.Disks)
        {
            if (disk.FileRef is not { } fileRef || Envelope.FindFile(fileRef) is not { } file || file.IsCompressed || file.ChunkSize is not null ||
                GetLength(file.Href) is not { } length || length < 512 || disk.Format is OvfDiskFormat.Unknown or OvfDiskFormat.Raw)
            {
                continue;
            }

            var head = new byte[512];
            var stream = OpenRead(file.Href);
            await using (stream.ConfigureAwait(false))
            {
                await stream.ReadExactlyAsync(head, cancellationToken).ConfigureAwait(false);
            }

            var magic = BinaryPrimitives.ReadUInt32LittleEndian(head);
            if (disk.Format is OvfDiskFormat.Qcow2)
            {
                if (BinaryPrimitives.ReadUInt32BigEndian(head) != Qcow2Magic)
                {
                    add(OvfFindingSeverity.Error, OvfFindingCodes.DiskContentMismatch, file.Href, "the descriptor says QCOW2 but the file has no QFI\\xfb magic");
                }

                continue;
            }

            if (magic != VmdkSparseMagic)
            {
                add(OvfFindingSeverity.Error, OvfFindingCodes.DiskContentMismatch, file.Href, "the descriptor says VMDK but the file has no KDMV sparse header");
                continue;
            }

            var flags = BinaryPrimitives.ReadUInt32LittleEndian(head.AsSpan(8));
            var streamOptimized = (flags & (1u << 16)) != 0 && (flags & (1u << 17)) != 0;
            if (disk.Format == OvfDiskFormat.VmdkStreamOptimized && !streamOptimized)
            {
                add(OvfFindingSeverity.Error, OvfFindingCodes.DiskContentMismatch, file.Href, "the descriptor says streamOptimized but the VMDK header has no compressed grains with markers");
            }
        }
    }

    private void CheckSystems(Action<OvfFindingSeverity, string, string, string> add)
    {
        if (Envelope.VirtualSystems.Count > 1)
        {
            add(OvfFindingSeverity.Error, OvfFindingCodes.MultipleVirtualSystems, "VirtualSystemCollection",
                $"the package holds {Envelope.VirtualSystems.Count} virtual machines; whitesky imports one per package");
        }

        var system = Envelope.VirtualSystems[0];
        var hardware = system.Hardware;
        if (hardware.DiskDrives.Count == 0 && Envelope.Disks.Count == 0)
        {
            add(OvfFindingSeverity.Error, OvfFindingCodes.NoDisks, system.Name, "the virtual machine has no disk");
        }

        foreach (var drive in hardware.DiskDrives)
        {
            if (drive.DiskId is null || Envelope.FindDisk(drive.DiskId) is null)
            {
                add(OvfFindingSeverity.Error, OvfFindingCodes.UnknownDiskReference, drive.ElementName ?? drive.InstanceId,
                    $"the hard disk names disk '{drive.DiskId}', which the DiskSection does not have");
            }
        }

        if (hardware.Cpus is null)
        {
            add(OvfFindingSeverity.Warning, OvfFindingCodes.NoCpu, system.Name, "no processor item: give the vCPU count when importing");
        }

        if (hardware.MemoryBytes is null)
        {
            add(OvfFindingSeverity.Warning, OvfFindingCodes.NoMemory, system.Name, "no memory item: give the memory when importing");
        }
        else if (hardware.MemoryBytes % (1 << 20) != 0)
        {
            add(OvfFindingSeverity.Info, OvfFindingCodes.MemoryRounded, system.Name, $"{hardware.MemoryBytes} bytes of memory are rounded up to {hardware.MemoryMiB} MiB");
        }

        if (hardware.Firmware == OvfFirmware.Unspecified)
        {
            add(OvfFindingSeverity.Info, OvfFindingCodes.FirmwareUnspecified, system.Name, "the descriptor does not name the firmware: BIOS is assumed");
        }

        if (!system.OperatingSystem.IsExactMatch)
        {
            add(OvfFindingSeverity.Warning, OvfFindingCodes.OsNotMapped, system.Name,
                $"the guest ({system.OperatingSystem.VendorOsType ?? system.OperatingSystem.Description ?? "not described"}) has no exact whitesky name: '{system.OperatingSystem.WhiteskyOsName}' is used");
        }

        foreach (var device in hardware.OtherDevices.Where(d => d.ResourceType is OvfConstants.ResourceFcHba or OvfConstants.ResourceIscsiHba or OvfConstants.ResourceIbHca))
        {
            add(device.Required ? OvfFindingSeverity.Error : OvfFindingSeverity.Warning, OvfFindingCodes.UnsupportedDevice, device.ElementName ?? device.InstanceId,
                $"resource type {device.ResourceType} (a host bus adapter passed through to the VM) cannot be given to a whitesky VM");
        }

        foreach (var drive in hardware.RemovableDrives.Where(d => d.HostResource is not null))
        {
            add(OvfFindingSeverity.Info, OvfFindingCodes.RemovableMediaNotImported, drive.InstanceId, $"the {drive.Kind} drive holds '{drive.HostResource}', which is not imported");
        }
    }

    private async Task CheckManifestAsync(OvfValidationOptions options, Action<OvfFindingSeverity, string, string, string> add, CancellationToken cancellationToken)
    {
        if (Manifest is null)
        {
            add(options.RequireManifest ? OvfFindingSeverity.Error : OvfFindingSeverity.Info, OvfFindingCodes.NoManifest, DescriptorName,
                "the package has no manifest: file contents are not verified by digest");
            return;
        }

        foreach (var entry in Manifest.Entries)
        {
            if (GetLength(entry.FileName) is null)
            {
                add(OvfFindingSeverity.Error, OvfFindingCodes.ManifestFileMissing, entry.FileName, "the manifest names a file the package does not have");
                continue;
            }

            if (!options.VerifyDigests)
            {
                continue;
            }

            var stream = OpenRead(entry.FileName);
            await using (stream.ConfigureAwait(false))
            {
                var actual = await OvfManifest.HashAsync(entry.Algorithm, stream, cancellationToken).ConfigureAwait(false);
                if (actual != entry.Digest)
                {
                    add(OvfFindingSeverity.Error, OvfFindingCodes.DigestMismatch, entry.FileName, $"{entry.Algorithm} is {actual}, the manifest says {entry.Digest}");
                }
            }
        }

        foreach (var stored in Envelope.Files.SelectMany(f => f.StoredNames).Append(DescriptorName))
        {
            if (Manifest.Find(stored) is null && GetLength(stored) is not null)
            {
                add(OvfFindingSeverity.Warning, OvfFindingCodes.NotInManifest, stored, "the file has no manifest line: its content is not verified");
            }
        }
    }

    private string? Resolve(string name)
    {
        OvfReader.CheckPackagePath(name, System.IO.Path.GetFileName(Path), "file name");
        var full = System.IO.Path.GetFullPath(System.IO.Path.Combine(_folder!, name));
        if (!full.StartsWith(_folder + System.IO.Path.DirectorySeparatorChar, StringComparison.Ordinal))
        {
            return null;
        }

        // A symbolic link could point anywhere: package files must be plain files.
        var info = new FileInfo(full);
        return info.Exists && info.LinkTarget is not null
            ? throw new OvfException(System.IO.Path.GetFileName(Path), name, "the package file is a symbolic link, which is refused")
            : full;
    }

    private static bool IsTar(string path)
    {
        if (!File.Exists(path) || new FileInfo(path).Length < TarConstants.BlockSize)
        {
            return false;
        }

        using var stream = File.OpenRead(path);
        Span<byte> head = stackalloc byte[TarConstants.BlockSize];
        stream.ReadExactly(head);
        return head.Slice(TarConstants.MagicOffset, 5).SequenceEqual("ustar"u8);
    }

    private static async Task<OvfPackage> OpenFolderAsync(string path, CancellationToken cancellationToken)
    {
        var envelope = await OvfReader.ReadAsync(path, cancellationToken).ConfigureAwait(false);
        var folder = System.IO.Path.GetDirectoryName(path)!;
        var manifestPath = System.IO.Path.ChangeExtension(path, ".mf");
        OvfManifest? manifest = null;
        string? manifestName = null;
        if (File.Exists(manifestPath))
        {
            if (new FileInfo(manifestPath).Length > OvfConstants.MaxManifestBytes)
            {
                throw new OvfException(System.IO.Path.GetFileName(manifestPath), "manifest", $"more than {OvfConstants.MaxManifestBytes} bytes");
            }

            manifestName = System.IO.Path.GetFileName(manifestPath);
            manifest = OvfManifest.Parse(await File.ReadAllTextAsync(manifestPath, Encoding.UTF8, cancellationToken).ConfigureAwait(false), manifestName);
        }

        return new OvfPackage(path, System.IO.Path.GetFileName(path), envelope, manifest, manifestName, null, [], folder, descriptorFirst: true);
    }

    private static async Task<OvfPackage> OpenArchiveAsync(string path, CancellationToken cancellationToken)
    {
        var name = System.IO.Path.GetFileName(path);
        var handle = File.OpenHandle(path, FileMode.Open, FileAccess.Read, FileShare.Read, FileOptions.Asynchronous);
        try
        {
            IReadOnlyList<TarEntry> list;
            using (var stream = new PackageEntryStream(handle, 0, RandomAccess.GetLength(handle), ownsHandle: false))
            {
                list = await TarIndex.ReadAsync(stream, name, cancellationToken).ConfigureAwait(false);
            }

            var entries = new Dictionary<string, TarEntry>(StringComparer.Ordinal);
            foreach (var entry in list)
            {
                var entryName = entry.Name.StartsWith("./", StringComparison.Ordinal) ? entry.Name[2..] : entry.Name;
                OvfReader.CheckPackagePath(entryName, name, $"archive entry '{OvfUnits.Clip(entry.Name)}'");
                if (!entries.TryAdd(entryName, entry with { Name = entryName }))
                {
                    throw new OvfException(name, $"archive entry '{entryName}'", "the archive holds two entries of this name");
                }
            }

            var descriptors = entries.Values.Where(e => e.Name.EndsWith(".ovf", StringComparison.OrdinalIgnoreCase)).ToList();
            if (descriptors.Count != 1)
            {
                throw new OvfException(name, "archive", descriptors.Count == 0 ? "no .ovf descriptor in the archive" : $"{descriptors.Count} .ovf descriptors in the archive; an OVA holds one");
            }

            var descriptor = descriptors[0];
            if (descriptor.Length > OvfConstants.MaxDescriptorBytes)
            {
                throw new OvfException(name, descriptor.Name, $"the descriptor's {descriptor.Length} bytes are more than the {OvfConstants.MaxDescriptorBytes} accepted");
            }

            var bytes = new byte[descriptor.Length];
            await RandomAccess.ReadAsync(handle, bytes, descriptor.DataOffset, cancellationToken).ConfigureAwait(false);
            var envelope = OvfReader.Parse(bytes, descriptor.Name);

            var manifestName = System.IO.Path.ChangeExtension(descriptor.Name, ".mf");
            OvfManifest? manifest = null;
            var manifests = entries.Values.Where(e => e.Name.EndsWith(".mf", StringComparison.OrdinalIgnoreCase)).ToList();
            if (entries.TryGetValue(manifestName, out var mf) || manifests.Count == 1)
            {
                mf = entries.TryGetValue(manifestName, out var named) ? named : manifests[0];
                if (mf.Length > OvfConstants.MaxManifestBytes)
                {
                    throw new OvfException(name, mf.Name, $"the manifest's {mf.Length} bytes are more than the {OvfConstants.MaxManifestBytes} accepted");
                }

                var text = new byte[mf.Length];
                await RandomAccess.ReadAsync(handle, text, mf.DataOffset, cancellationToken).ConfigureAwait(false);
                manifestName = mf.Name;
                manifest = OvfManifest.Parse(Encoding.UTF8.GetString(text), mf.Name);
            }
            else
            {
                manifestName = null;
            }

            var first = list.Count > 0 && list[0].Name.TrimStart('.', '/') == descriptor.Name;
            return new OvfPackage(path, descriptor.Name, envelope, manifest, manifestName, handle, entries, null, first);
        }
        catch
        {
            handle.Dispose();
            throw;
        }
    }
}
