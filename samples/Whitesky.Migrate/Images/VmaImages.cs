using Whitesky.DiskFormats;
using Whitesky.DiskFormats.Vma;
using Whitesky.Migrate.Cli;

namespace Whitesky.Migrate.Images;

/// <summary>
/// Proxmox vzdump archives in the image commands: an archive holds several devices, so the commands take
/// <c>--device NAME|ID</c>; a plain <c>.vma</c> is indexed and read at random, a <c>.vma.gz</c> / <c>.vma.zst</c>
/// is read in one pass (it cannot be indexed without decompressing it all).
/// </summary>
internal static class VmaImages
{
    /// <summary>Whether the file is a compressed archive, by the names vzdump gives them.</summary>
    public static bool IsCompressedArchive(string path) =>
        path.EndsWith(".vma.gz", StringComparison.OrdinalIgnoreCase) || path.EndsWith(".vma.zst", StringComparison.OrdinalIgnoreCase);

    /// <summary>Whether the image is a VMA archive: as <paramref name="format"/> says, or by its name or content.</summary>
    public static async Task<bool> IsArchiveAsync(string path, string? format, CancellationToken cancellationToken)
    {
        if (format is not null)
        {
            return string.Equals(format, "vma", StringComparison.OrdinalIgnoreCase);
        }

        if (IsCompressedArchive(path))
        {
            return true;
        }

        await using var source = FileSource.Open(path);
        return await DiskImage.ProbeAsync(source, cancellationToken) == "vma";
    }

    /// <summary>The chosen device of an uncompressed archive as a disk that closes the archive when disposed.</summary>
    public static async Task<IVirtualDisk> OpenDeviceAsync(string path, string? device, CancellationToken cancellationToken)
    {
        if (IsCompressedArchive(path))
        {
            throw new CommandFailedException($"'{path}' is compressed: only convert reads it (in one pass); decompress it for inspect --device or map.");
        }

        var image = await VmaImage.OpenAsync(path, cancellationToken);
        try
        {
            return new ArchiveDevice(image, image.OpenDevice(Choose(image.Header, device, path)));
        }
        catch
        {
            await image.DisposeAsync();
            throw;
        }
    }

    /// <summary>The archive's devices and config files; allocation only for an uncompressed archive.</summary>
    public static async Task<VmaArchiveReport> DescribeAsync(string path, CancellationToken cancellationToken)
    {
        if (IsCompressedArchive(path))
        {
            await using var archive = await VmaArchive.OpenAsync(File.OpenRead(path), path, cancellationToken: cancellationToken);
            return Report(path, archive.Header, archive.Compression, archive.Header.Devices.Select(d => (d, (long?)null)));
        }

        await using var image = await VmaImage.OpenAsync(path, cancellationToken);
        var devices = new List<(VmaDevice, long?)>();
        foreach (var device in image.Header.Devices)
        {
            await using var disk = image.OpenDevice(device);
            devices.Add((device, await DiskImage.CountAllocatedBytesAsync(disk, cancellationToken)));
        }

        return Report(path, image.Header, null, devices);
    }

    /// <summary>Converts one device of a compressed archive in one pass; returns the data bytes written (or decoded).</summary>
    public static async Task<(long Bytes, long Capacity)> ConvertCompressedAsync(string path, string? device, string? target, CancellationToken cancellationToken)
    {
        await using var disk = await OpenCompressedDeviceAsync(path, device, cancellationToken);
        return (await ImageConverter.ConvertAsync(disk, target, cancellationToken), disk.Capacity);
    }

    /// <summary>The chosen device of a compressed archive, read in one pass, as a disk that closes the archive when disposed.</summary>
    public static async Task<ISequentialDisk> OpenCompressedDeviceAsync(string path, string? device, CancellationToken cancellationToken)
    {
        var archive = await VmaArchive.OpenAsync(File.OpenRead(path), path, cancellationToken: cancellationToken);
        try
        {
            return new StreamedArchiveDevice(archive, archive.GetDevice(Choose(archive.Header, device, path)));
        }
        catch
        {
            await archive.DisposeAsync();
            throw;
        }
    }

    private static VmaDevice Choose(VmaHeader header, string? device, string path)
    {
        var names = string.Join(", ", header.Devices.Select(d => $"{d.Id} {d.Name}"));
        if (device is null)
        {
            return header.Devices.Count == 1
                ? header.Devices[0]
                : throw new CommandFailedException($"'{path}' is a VMA archive with {header.Devices.Count} devices ({names}): choose one with --device NAME|ID.");
        }

        return header.FindDevice(device)
            ?? throw new CommandFailedException($"'{path}' has no device '{device}' (it has {names}).");
    }

    private static VmaArchiveReport Report(string path, VmaHeader header, string? compression, IEnumerable<(VmaDevice Device, long? Allocated)> devices) => new(
        path, "vma", compression, header.Uuid, header.CreationTime,
        [.. header.ConfigFiles.Select(c => new VmaConfigFileReport(c.Key, c.Value.Length))],
        [.. devices.Select(d => new VmaDeviceReport(d.Device.Id, d.Device.Name, d.Device.Size, d.Allocated))]);

    /// <summary>A device of an archive read in one pass that also closes the archive.</summary>
    private sealed class StreamedArchiveDevice(VmaArchive archive, ISequentialDisk disk) : ISequentialDisk
    {
        public string Name => disk.Name;

        public long Capacity => disk.Capacity;

        public int LogicalSectorSize => disk.LogicalSectorSize;

        public bool ChunksInOffsetOrder => disk.ChunksInOffsetOrder;

        public DiskInfo Describe() => disk.Describe();

        public IAsyncEnumerable<DiskChunk> ReadChunksAsync(CancellationToken cancellationToken = default) => disk.ReadChunksAsync(cancellationToken);

        public async ValueTask DisposeAsync()
        {
            await disk.DisposeAsync();
            await archive.DisposeAsync();
        }
    }

    /// <summary>A device's disk that also closes its archive.</summary>
    private sealed class ArchiveDevice(VmaImage image, IVirtualDisk disk) : IVirtualDisk
    {
        public long Capacity => disk.Capacity;

        public int LogicalSectorSize => disk.LogicalSectorSize;

        public IVirtualDisk? Parent => null;

        public ValueTask ReadAsync(long offset, Memory<byte> buffer, CancellationToken cancellationToken = default) =>
            disk.ReadAsync(offset, buffer, cancellationToken);

        public IAsyncEnumerable<DiskExtent> GetExtentsAsync(long offset, long length, CancellationToken cancellationToken = default) =>
            disk.GetExtentsAsync(offset, length, cancellationToken);

        public DiskInfo Describe() => disk.Describe();

        public async ValueTask DisposeAsync()
        {
            await disk.DisposeAsync();
            await image.DisposeAsync();
        }
    }
}
