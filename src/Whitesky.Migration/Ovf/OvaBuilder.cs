using System.Security.Cryptography;
using Whitesky.DiskFormats;

namespace Whitesky.Migration.Ovf;

/// <summary>
/// Builds an OVA for a source that has no OVF: each disk (any format <see cref="DiskImage"/> opens) becomes a
/// streamOptimized VMDK, then a generated OVF 1.0 descriptor and a SHA256 manifest are packed with them in a
/// ustar archive in VMware's order (descriptor, manifest, disks).
/// </summary>
public static class OvaBuilder
{
    /// <summary>Builds <paramref name="ovaPath"/> from <paramref name="disks"/> (the first is the boot disk).</summary>
    /// <param name="disks">The disks, in order; they stay the caller's.</param>
    /// <param name="ovaPath">The OVA to write; written as <c>.partial</c> and renamed when complete.</param>
    /// <param name="options">The virtual machine the descriptor describes.</param>
    /// <param name="progress">Receives the virtual bytes converted so far over all disks.</param>
    /// <param name="cancellationToken">Cancels the build; nothing is left behind.</param>
    public static async Task<OvaBuildResult> BuildAsync(IReadOnlyList<IVirtualDisk> disks, string ovaPath, OvaBuildOptions options,
        IProgress<long>? progress = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(disks);
        ArgumentException.ThrowIfNullOrEmpty(ovaPath);
        ArgumentNullException.ThrowIfNull(options);
        if (disks.Count == 0)
        {
            throw new ArgumentException("an OVA needs at least one disk", nameof(disks));
        }

        var baseName = string.Concat(options.Name.Select(c => char.IsAsciiLetterOrDigit(c) || c is '-' or '_' or '.' ? c : '_'));
        ovaPath = Path.GetFullPath(ovaPath);
        var staging = options.StagingDirectory ?? Path.GetDirectoryName(ovaPath)!;
        var stagedFiles = new List<string>();
        var partial = ovaPath + ".partial";
        try
        {
            var written = new List<VmdkWriteResult>();
            var diskFiles = new List<OvfDescriptorWriter.DiskFile>();
            var entries = new List<OvfManifestEntry>();
            long done = 0;
            for (var i = 0; i < disks.Count; i++)
            {
                var fileName = $"{baseName}-disk{i + 1}.vmdk";
                var staged = Path.Combine(staging, $".{Path.GetFileName(ovaPath)}.{i}.vmdk.tmp");
                stagedFiles.Add(staged);
                using var sha = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
                var file = new FileStream(staged, FileMode.Create, FileAccess.Write, FileShare.None, 1 << 20, FileOptions.Asynchronous);
                VmdkWriteResult result;
                await using (file.ConfigureAwait(false))
                {
                    var hashing = new HashingWriteStream(file, sha);
                    var before = done;
                    var diskProgress = progress is null ? null : new OffsetProgress(progress, before);
                    result = await StreamOptimizedVmdkWriter.WriteAsync(disks[i], hashing, fileName, options.Compression, diskProgress, cancellationToken).ConfigureAwait(false);
                    await file.FlushAsync(cancellationToken).ConfigureAwait(false);
                }

                done += disks[i].Capacity;
                written.Add(result);
                diskFiles.Add(new OvfDescriptorWriter.DiskFile(fileName, result.Length, result.Capacity, result.PopulatedBytes));
                entries.Add(new OvfManifestEntry("SHA256", fileName, Convert.ToHexStringLower(sha.GetHashAndReset())));
            }

            var descriptorName = baseName + ".ovf";
            var manifestName = baseName + ".mf";
            var descriptor = OvfDescriptorWriter.Write(options, diskFiles);
            entries.Insert(0, new OvfManifestEntry("SHA256", descriptorName, Convert.ToHexStringLower(SHA256.HashData(descriptor))));
            var manifest = System.Text.Encoding.UTF8.GetBytes(OvfManifest.Format(entries));

            var now = DateTimeOffset.UtcNow;
            var output = new FileStream(partial, FileMode.Create, FileAccess.Write, FileShare.None, 1 << 20, FileOptions.Asynchronous);
            await using (output.ConfigureAwait(false))
            {
                var tar = new UstarWriter(output);
                await tar.WriteHeaderAsync(descriptorName, descriptor.Length, now, cancellationToken).ConfigureAwait(false);
                await tar.WriteAsync(descriptor, cancellationToken).ConfigureAwait(false);
                await tar.PadAsync(cancellationToken).ConfigureAwait(false);
                await tar.WriteHeaderAsync(manifestName, manifest.Length, now, cancellationToken).ConfigureAwait(false);
                await tar.WriteAsync(manifest, cancellationToken).ConfigureAwait(false);
                await tar.PadAsync(cancellationToken).ConfigureAwait(false);
                var buffer = new byte[1 << 20];
                for (var i = 0; i < disks.Count; i++)
                {
                    await tar.WriteHeaderAsync(diskFiles[i].FileName, diskFiles[i].FileSize, now, cancellationToken).ConfigureAwait(false);
                    var staged = File.OpenRead(stagedFiles[i]);
                    await using (staged.ConfigureAwait(false))
                    {
                        int read;
                        while ((read = await staged.ReadAsync(buffer, cancellationToken).ConfigureAwait(false)) > 0)
                        {
                            await tar.WriteAsync(buffer.AsMemory(0, read), cancellationToken).ConfigureAwait(false);
                        }
                    }

                    await tar.PadAsync(cancellationToken).ConfigureAwait(false);
                }

                await tar.FinishAsync(cancellationToken).ConfigureAwait(false);
                await output.FlushAsync(cancellationToken).ConfigureAwait(false);
            }

            File.Move(partial, ovaPath, overwrite: true);
            return new OvaBuildResult(ovaPath, new FileInfo(ovaPath).Length, descriptorName, entries, written);
        }
        finally
        {
            foreach (var staged in stagedFiles)
            {
                File.Delete(staged);
            }

            File.Delete(partial);
        }
    }

    /// <summary>Opens each image with <see cref="DiskImage.OpenAsync(string, DiskImageOptions?, CancellationToken)"/> and builds the OVA.</summary>
    public static async Task<OvaBuildResult> BuildAsync(IReadOnlyList<string> imagePaths, string ovaPath, OvaBuildOptions options,
        IProgress<long>? progress = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(imagePaths);
        var opened = new List<IVirtualDisk>();
        try
        {
            foreach (var path in imagePaths)
            {
                opened.Add(await DiskImage.OpenAsync(path, null, cancellationToken).ConfigureAwait(false));
            }

            return await BuildAsync(opened, ovaPath, options, progress, cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            foreach (var disk in opened)
            {
                await disk.DisposeAsync().ConfigureAwait(false);
            }
        }
    }

    /// <summary>Reports a disk's progress on the caller's progress, shifted by the disks before it, synchronously and in order.</summary>
    private sealed class OffsetProgress(IProgress<long> inner, long offset) : IProgress<long>
    {
        public void Report(long value) => inner.Report(offset + value);
    }
}
