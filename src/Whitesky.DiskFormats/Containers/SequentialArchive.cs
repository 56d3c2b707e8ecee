using System.Runtime.CompilerServices;
using System.Text;
using Whitesky.DiskFormats.Raw;
using Whitesky.DiskFormats.Vma;
using Whitesky.DiskFormats.Vmdk;

namespace Whitesky.DiskFormats.Containers;

/// <summary>
/// Disks arriving in one forward pass over a stream that need not seek: a bare image (raw, streamOptimized VMDK),
/// a tar archive, an OVA (a tar whose first entry is the OVF descriptor) or a Proxmox VMA archive (whose devices are
/// the disks; only one of them can be read per pass), each possibly gzip-, zstd- or xz-compressed.
/// <see cref="ReadDisksAsync"/> yields the disks in archive order; read (or skip) each before moving on.
/// </summary>
/// <remarks>
/// Decompressed bytes are bounded by what the inner format declares (tar entry sizes, a VMDK's capacity): a stream
/// that inflates beyond is refused, never buffered. The caller's stream is left open.
/// </remarks>
public sealed class SequentialArchive : IAsyncDisposable
{
    private const int MaxTextBytes = 16 * 1024 * 1024;

    /// <summary>Decompressed bytes read after the last disk to reach the compressed stream's end (and its checksum).</summary>
    private const long MaxTrailingBytes = 16 * 1024 * 1024;

    private readonly PeekStream _outer;
    private readonly PeekStream _content;
    private readonly TarReader? _tar;
    private readonly VmaArchive? _vma;
    private readonly DiskImageOptions _options;
    private TarEntry? _pending;
    private int _enumerated;

    private SequentialArchive(PeekStream outer, PeekStream content, TarReader? tar, DiskImageOptions options, IReadOnlyList<string> layers, VmaArchive? vma = null)
    {
        _outer = outer;
        _content = content;
        _tar = tar;
        _vma = vma;
        _options = options;
        Layers = layers;
    }

    /// <summary>A name for messages.</summary>
    public string Name => _outer.Name;

    /// <summary>The wrappers around the disks, outermost first: for example <c>gzip</c>, <c>tar</c>; <c>ova</c>; <c>zstd</c>, <c>vma</c>; empty for a bare image.</summary>
    public IReadOnlyList<string> Layers { get; }

    /// <summary>Whether the stream is an OVA package (a tar whose first entry is an <c>.ovf</c> descriptor).</summary>
    public bool IsOva => DescriptorName is not null;

    /// <summary>The name of the OVF descriptor entry of an OVA, or null.</summary>
    public string? DescriptorName { get; private set; }

    /// <summary>The OVF descriptor's text (UTF-8) of an OVA, or null.</summary>
    public string? Descriptor { get; private set; }

    /// <summary>The <c>.mf</c> manifest's text, once the reading has passed it (OVF puts it after the descriptor, or last); else null.</summary>
    public string? Manifest { get; private set; }

    /// <summary>The name of the manifest entry, once read; else null.</summary>
    public string? ManifestName { get; private set; }

    /// <summary>
    /// Reads the start of <paramref name="stream"/> (from its current position) to tell what it carries: compression,
    /// tar or OVA (whose descriptor is read now), or a bare image.
    /// </summary>
    /// <param name="stream">The stream; it stays the caller's.</param>
    /// <param name="name">A name for messages; default: the file name of a <see cref="FileStream"/>, else <c>stream</c>.</param>
    /// <param name="options">
    /// The format of the stream when the caller knows it (<see cref="DiskImageOptions.Format"/>: <c>raw</c> or <c>vmdk</c>):
    /// then it is that disk, bare, and nothing is probed (no wrapper is looked for).
    /// </param>
    /// <param name="cancellationToken">Cancels the reading.</param>
    /// <exception cref="DiskFormatException">The stream is malformed or carries something that cannot be read forward.</exception>
    public static async Task<SequentialArchive> OpenAsync(Stream stream, string? name = null, DiskImageOptions? options = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(stream);
        var outer = new PeekStream(stream, name ?? (stream as FileStream)?.Name ?? "stream", ownsInner: false);
        var content = outer;
        var layers = new List<string>();
        try
        {
            if (options?.Format is not null)
            {
                // The caller says what the stream is: a disk of that format, never taken for a wrapper.
                return new SequentialArchive(outer, content, tar: null, options, layers);
            }

            var head = await content.PeekAsync(StreamMagic.ProbeLength, cancellationToken).ConfigureAwait(false);
            if (StreamMagic.Compression(head.Span, outer.Name) is { } compression)
            {
                layers.Add(compression);
                content = StreamMagic.Decompress(content, compression);
                head = await content.PeekAsync(StreamMagic.ProbeLength, cancellationToken).ConfigureAwait(false);
            }

            if (VmaHeader.HasMagic(head.Span))
            {
                var vma = await VmaArchive.OpenDecodedAsync(content, outer.Name, layers.Count > 0 ? layers[0] : null, cancellationToken).ConfigureAwait(false);
                layers.Add("vma");
                return new SequentialArchive(outer, content, tar: null, options ?? new DiskImageOptions(), layers, vma);
            }

            if (!TarReader.LooksLikeHeader(head.Span))
            {
                return new SequentialArchive(outer, content, tar: null, options ?? new DiskImageOptions(), layers);
            }

            var tar = new TarReader(content);
            var archive = new SequentialArchive(outer, content, tar, options ?? new DiskImageOptions(), layers);
            var first = await tar.GetNextEntryAsync(cancellationToken).ConfigureAwait(false);
            if (first is { IsFile: true } && first.Name.EndsWith(".ovf", StringComparison.OrdinalIgnoreCase))
            {
                archive.DescriptorName = first.Name;
                archive.Descriptor = await ReadTextAsync(tar, first, cancellationToken).ConfigureAwait(false);
                layers.Add("ova");
            }
            else
            {
                archive._pending = first;
                layers.Add("tar");
            }

            return archive;
        }
        catch
        {
            if (!ReferenceEquals(content, outer))
            {
                await content.DisposeAsync().ConfigureAwait(false);
            }

            throw;
        }
    }

    /// <summary>
    /// The disks, in archive order. In a tar or OVA every regular file is a disk except the descriptor, the manifest
    /// (<c>.mf</c>, kept in <see cref="Manifest"/>), certificates (<c>.cert</c>), NVRAM files (<c>.nvram</c>) and
    /// empty files. Each disk is valid until the enumeration advances, which skips what the caller did not read.
    /// </summary>
    /// <exception cref="DiskFormatException">The archive or a disk in it is malformed.</exception>
    /// <exception cref="InvalidOperationException">The disks were already enumerated.</exception>
    public IAsyncEnumerable<ISequentialDisk> ReadDisksAsync(CancellationToken cancellationToken = default)
    {
        if (Interlocked.Exchange(ref _enumerated, 1) != 0)
        {
            throw new InvalidOperationException($"{Name}: the disks of a stream can be read only once.");
        }

        return _vma is not null ? ReadDevicesAsync(_vma) : _tar is null ? ReadBareAsync(cancellationToken) : ReadEntriesAsync(_tar, cancellationToken);
    }

    /// <inheritdoc />
    public async ValueTask DisposeAsync()
    {
        if (_vma is not null)
        {
            await _vma.DisposeAsync().ConfigureAwait(false);
        }

        if (!ReferenceEquals(_content, _outer))
        {
            await _content.DisposeAsync().ConfigureAwait(false);
        }
    }

    /// <summary>
    /// The devices of a VMA archive. Their clusters interleave, so reading one reads the whole archive (and checks it
    /// complete, the compressed stream to its end): only one device can be read per pass.
    /// </summary>
    private static async IAsyncEnumerable<ISequentialDisk> ReadDevicesAsync(VmaArchive vma)
    {
        foreach (var device in vma.Header.Devices)
        {
            var disk = vma.GetDevice(device);
            await using (disk.ConfigureAwait(false))
            {
                yield return disk;
            }
        }
    }

    private async IAsyncEnumerable<ISequentialDisk> ReadBareAsync([EnumeratorCancellation] CancellationToken cancellationToken)
    {
        long? length = Layers.Count == 0 ? _outer.InnerRemaining : null;
        var disk = await OpenDiskAsync(new PeekStream(_content, Name, ownsInner: false), Name, length, sparseMap: null, cancellationToken).ConfigureAwait(false);
        await using (disk.ConfigureAwait(false))
        {
            yield return disk;
        }

        await ReadToCompressedEndAsync(cancellationToken).ConfigureAwait(false);
    }

    private async IAsyncEnumerable<ISequentialDisk> ReadEntriesAsync(TarReader tar, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        while (true)
        {
            var entry = _pending ?? await tar.GetNextEntryAsync(cancellationToken).ConfigureAwait(false);
            _pending = null;
            if (entry is null)
            {
                await ReadToCompressedEndAsync(cancellationToken).ConfigureAwait(false);
                yield break;
            }

            if (!entry.IsFile || entry.Length == 0 || HasExtension(entry, ".ovf") || HasExtension(entry, ".cert") || HasExtension(entry, ".nvram"))
            {
                continue;
            }

            if (HasExtension(entry, ".mf"))
            {
                ManifestName = entry.Name;
                Manifest = await ReadTextAsync(tar, entry, cancellationToken).ConfigureAwait(false);
                continue;
            }

            var name = Name + "/" + entry.Name;
            var entryStream = new PeekStream(tar.GetEntryStream(), name, ownsInner: true);
            var disk = await OpenDiskAsync(entryStream, name, entry.Kind == TarEntryKind.SparseFile ? entry.Length : entry.StoredLength,
                entry.SparseMap, cancellationToken).ConfigureAwait(false);
            await using (disk.ConfigureAwait(false))
            {
                yield return disk;
            }
        }
    }

    /// <summary>Tells what a stream carries (after unwrapping compression) and opens it as a sequential disk.</summary>
    private async Task<ISequentialDisk> OpenDiskAsync(PeekStream stream, string name, long? length, IReadOnlyList<TarSparseRun>? sparseMap, CancellationToken cancellationToken)
    {
        try
        {
            if (sparseMap is not null)
            {
                // A GNU sparse entry is a raw file with holes: its first stored byte need not be the file's first byte.
                return new RawStreamDisk(stream, name, length!.Value, sparseMap);
            }

            var head = await stream.PeekAsync(StreamMagic.ProbeLength, cancellationToken).ConfigureAwait(false);
            var format = _options.Format?.ToLowerInvariant();
            if (format is null && StreamMagic.Compression(head.Span, name) is { } compression)
            {
                stream = new PeekStream(StreamMagic.Decompress(stream, compression), name, ownsInner: true);
                length = null;
                head = await stream.PeekAsync(StreamMagic.ProbeLength, cancellationToken).ConfigureAwait(false);
            }

            if (format is null)
            {
                StreamMagic.RefuseRandomAccessOnly(head.Span, name);
                format = VmdkSparseHeader.HasMagic(head.Span) ? "vmdk" : "raw";
            }

            switch (format)
            {
                case "vmdk":
                    return await VmdkStreamDisk.OpenAsync(stream, name, cancellationToken).ConfigureAwait(false);
                case "raw":
                    if (length is null)
                    {
                        throw new DiskFormatException(name, "stream", 0,
                            "a raw disk read from a pipe or through a decompressor declares no size; put it in a tar file (as Google Cloud exports do) or read the file itself");
                    }

                    return new RawStreamDisk(stream, name, length.Value, sparseMap: null);
                default:
                    throw new DiskFormatException(name, "stream", 0, $"the format '{_options.Format}' cannot be read from a stream (raw and vmdk can)");
            }
        }
        catch
        {
            await stream.DisposeAsync().ConfigureAwait(false);
            throw;
        }
    }

    /// <summary>
    /// Reads a compressed stream past the end of its content to its own end, where gzip keeps its CRC-32 and zstd its
    /// checksum: corruption inside the data is found there. Only a little may follow (tar pads to its record size).
    /// </summary>
    private async Task ReadToCompressedEndAsync(CancellationToken cancellationToken)
    {
        if (ReferenceEquals(_content, _outer))
        {
            return;
        }

        var start = _content.Consumed;
        var buffer = new byte[64 * 1024];
        while (await _content.ReadAsync(buffer, cancellationToken).ConfigureAwait(false) > 0)
        {
            if (_content.Consumed - start > MaxTrailingBytes)
            {
                throw new DiskFormatException(Name, Layers[0] + " stream", start, $"more than {MaxTrailingBytes} decompressed bytes follow the end of its content");
            }
        }
    }

    private static bool HasExtension(TarEntry entry, string extension) => entry.Name.EndsWith(extension, StringComparison.OrdinalIgnoreCase);

    private static async Task<string> ReadTextAsync(TarReader tar, TarEntry entry, CancellationToken cancellationToken)
    {
        if (entry.StoredLength > MaxTextBytes || entry.Kind != TarEntryKind.File)
        {
            throw new DiskFormatException(tar.Name, "tar entry", entry.DataOffset, $"'{entry.Name}' is {entry.StoredLength} bytes, more than the {MaxTextBytes} a descriptor or manifest may have");
        }

        var bytes = new byte[entry.StoredLength];
        await using var stream = tar.GetEntryStream();
        await stream.ReadExactlyAsync(bytes, cancellationToken).ConfigureAwait(false);
        return Encoding.UTF8.GetString(bytes);
    }
}
