namespace Whitesky.DiskFormats.Containers;

/// <summary>Opens a disk that arrives as a stream (a pipe, a download) for one forward pass.</summary>
public static class SequentialDiskImage
{
    /// <summary>
    /// Opens the first disk in <paramref name="stream"/>: a raw image (only from a stream that can tell its length) or a
    /// streamOptimized VMDK, bare or in a tar or OVA file, or the first device of a Proxmox VMA archive, each possibly
    /// gzip- or zstd-compressed. For an archive with several disks, use <see cref="SequentialArchive.ReadDisksAsync"/>.
    /// Disposing the disk leaves the stream open.
    /// </summary>
    /// <exception cref="DiskFormatException">The stream is malformed, holds no disk, or holds one that needs random access.</exception>
    public static async Task<ISequentialDisk> OpenAsync(Stream stream, DiskImageOptions? options = null, CancellationToken cancellationToken = default)
    {
        var archive = await SequentialArchive.OpenAsync(stream, name: null, options, cancellationToken).ConfigureAwait(false);
        IAsyncEnumerator<ISequentialDisk>? disks = null;
        try
        {
            disks = archive.ReadDisksAsync(cancellationToken).GetAsyncEnumerator(cancellationToken);
            if (!await disks.MoveNextAsync().ConfigureAwait(false))
            {
                throw new DiskFormatException($"{archive.Name}: the {string.Join('+', archive.Layers)} stream holds no disk.");
            }

            return new FirstDisk(archive, disks);
        }
        catch
        {
            if (disks is not null)
            {
                await disks.DisposeAsync().ConfigureAwait(false);
            }

            await archive.DisposeAsync().ConfigureAwait(false);
            throw;
        }
    }

    /// <summary>The first disk of an archive, owning the archive and its enumeration.</summary>
    private sealed class FirstDisk(SequentialArchive archive, IAsyncEnumerator<ISequentialDisk> disks) : ISequentialDisk
    {
        private ISequentialDisk Disk => disks.Current;

        public string Name => Disk.Name;

        public long Capacity => Disk.Capacity;

        public int LogicalSectorSize => Disk.LogicalSectorSize;

        public bool ChunksInOffsetOrder => Disk.ChunksInOffsetOrder;

        public DiskInfo Describe() => Disk.Describe();

        public IAsyncEnumerable<DiskChunk> ReadChunksAsync(CancellationToken cancellationToken = default) => Disk.ReadChunksAsync(cancellationToken);

        public async ValueTask DisposeAsync()
        {
            await disks.DisposeAsync().ConfigureAwait(false);
            await archive.DisposeAsync().ConfigureAwait(false);
        }
    }
}
