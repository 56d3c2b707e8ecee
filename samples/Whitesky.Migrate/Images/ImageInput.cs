using System.Buffers;
using System.IO.Pipelines;
using System.Runtime.CompilerServices;
using Whitesky.DiskFormats;
using Whitesky.DiskFormats.Containers;

namespace Whitesky.Migrate.Images;

/// <summary>One disk of an <see cref="ImageInput"/>: random access (a file, a disk inside an uncompressed tar) or a forward-only stream.</summary>
/// <param name="EntryName">The disk's name inside its archive, or the file name for a plain image.</param>
/// <param name="RandomAccess">The disk opened for random access, or null.</param>
/// <param name="Sequential">The disk as a stream of chunks, or null.</param>
internal sealed record InputDisk(string EntryName, IVirtualDisk? RandomAccess, ISequentialDisk? Sequential)
{
    public string Name => RandomAccess?.Describe().Name ?? Sequential!.Name;

    public long Capacity => RandomAccess?.Capacity ?? Sequential!.Capacity;
}

/// <summary>
/// What the image commands read: a plain image file, a tar or OVA file (its disks opened in place), or a stream that
/// can only be read forward (standard input, a gzip- or zstd-compressed file) decoded in one pass.
/// </summary>
internal sealed class ImageInput : IAsyncDisposable
{
    private static readonly string[] NotDisks = [".ovf", ".mf", ".cert", ".nvram"];

    /// <summary>Bytes of standard input looked at to tell raw data from an archive or image (the image probes read no further).</summary>
    private const int ProbeLength = 4096;

    private readonly string _path;
    private readonly string? _format;
    private readonly TarArchive? _tar;
    private readonly Stream? _stream;
    private readonly SequentialArchive? _sequential;

    private ImageInput(string path, string? format, TarArchive? tar, Stream? stream, SequentialArchive? sequential)
    {
        _path = path;
        _format = format;
        _tar = tar;
        _stream = stream;
        _sequential = sequential;
    }

    /// <summary>The wrappers around the disks, outermost first (<c>ova</c>; <c>gzip</c>, <c>tar</c>; ...), or null for a plain image file.</summary>
    public IReadOnlyList<string>? Container => _tar is not null ? [_tar.IsOva ? "ova" : "tar"]
        : _sequential is { Layers.Count: > 0 } ? _sequential.Layers : null;

    /// <summary>Whether the disks can only be read forward, once.</summary>
    public bool IsStream => _sequential is not null;

    /// <summary>
    /// Standard input in which no compression, archive or image format was recognised (opened with rawStream): raw
    /// data of a length nothing declares, which only a consumer knowing the size (a copy's target) can read. Else null.
    /// </summary>
    public Stream? RawStream => _sequential is null && _tar is null ? _stream : null;

    /// <summary>Opens <paramref name="path"/> (<c>-</c> is standard input) and tells what it holds.</summary>
    /// <param name="path">The file, or <c>-</c>.</param>
    /// <param name="format">The format, when the caller knows it.</param>
    /// <param name="rawStream">Whether unrecognised standard input opens as <see cref="RawStream"/> (else it is decoded, and refused, as a raw disk of no declared size).</param>
    /// <param name="cancellationToken">Cancels the reading.</param>
    public static async Task<ImageInput> OpenAsync(string path, string? format, CancellationToken cancellationToken, bool rawStream = false)
    {
        if (path == "-")
        {
            var stdin = Console.OpenStandardInput();
            if (!rawStream || format is not null)
            {
                return await OpenStreamAsync(path, "stdin", stdin, format, cancellationToken);
            }

            // Looks at the first bytes without consuming them: the stream read afterwards starts at byte 0.
            var reader = PipeReader.Create(stdin, new StreamPipeReaderOptions(bufferSize: 1 << 20, minimumReadSize: 256 << 10));
            var start = await reader.ReadAtLeastAsync(ProbeLength, cancellationToken);
            var probe = start.Buffer.Slice(0, Math.Min(ProbeLength, start.Buffer.Length)).ToArray();
            reader.AdvanceTo(start.Buffer.Start);
            var replayed = reader.AsStream();
            return await IsRawDataAsync(probe, cancellationToken)
                ? new ImageInput(path, format, null, replayed, null)
                : await OpenStreamAsync(path, "stdin", replayed, format, cancellationToken);
        }

        var head = new byte[512];
        int read;
        await using (var probe = File.OpenRead(path))
        {
            read = await probe.ReadAtLeastAsync(head, head.Length, throwOnEndOfStream: false, cancellationToken);
        }

        if (format is null && IsCompressed(head.AsSpan(0, read)))
        {
            return await OpenStreamAsync(path, path, new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 20, FileOptions.SequentialScan), format, cancellationToken);
        }

        if (format is null && read == head.Length)
        {
            await using var source = FileSource.Open(path);
            if (await TarArchive.ProbeAsync(source, cancellationToken))
            {
                return new ImageInput(path, format, await TarArchive.OpenAsync(path, cancellationToken), null, null);
            }
        }

        return new ImageInput(path, format, null, null, null);
    }

    /// <summary>
    /// The disks in order; each is valid until the enumeration moves on (which disposes it). Archives skip their
    /// descriptor, manifest, certificate and NVRAM files.
    /// </summary>
    public async IAsyncEnumerable<InputDisk> ReadDisksAsync([EnumeratorCancellation] CancellationToken cancellationToken)
    {
        var options = new DiskImageOptions { Format = _format };
        if (_sequential is not null)
        {
            await foreach (var disk in _sequential.ReadDisksAsync(cancellationToken))
            {
                // Tar entries are named archive/entry, VMA devices archive:device.
                var inside = disk.Name.StartsWith(_sequential.Name, StringComparison.Ordinal) && disk.Name.Length > _sequential.Name.Length
                    && disk.Name[_sequential.Name.Length] is '/' or ':';
                yield return new InputDisk(inside ? disk.Name[(_sequential.Name.Length + 1)..] : disk.Name, null, disk);
            }

            yield break;
        }

        if (_tar is not null)
        {
            foreach (var entry in _tar.Entries)
            {
                if (!entry.IsFile || entry.Length == 0 || NotDisks.Any(e => entry.Name.EndsWith(e, StringComparison.OrdinalIgnoreCase)))
                {
                    continue;
                }

                var disk = await DiskImage.OpenAsync(_tar.OpenEntry(entry), options, cancellationToken);
                await using (disk)
                {
                    yield return new InputDisk(entry.Name, disk, null);
                }
            }

            yield break;
        }

        var plain = await DiskImage.OpenAsync(_path, options, cancellationToken);
        await using (plain)
        {
            yield return new InputDisk(Path.GetFileName(_path), plain, null);
        }
    }

    /// <summary>
    /// Runs <paramref name="action"/> on the disk named <paramref name="name"/> (its entry name), or the first one when
    /// null; a stream is then read to its end.
    /// </summary>
    public async Task<T> WithDiskAsync<T>(string? name, Func<InputDisk, Task<T>> action, CancellationToken cancellationToken)
    {
        var seen = new List<string>();
        await using var disks = ReadDisksAsync(cancellationToken).GetAsyncEnumerator(cancellationToken);
        while (await disks.MoveNextAsync())
        {
            var disk = disks.Current;
            if (name is null || disk.EntryName == name)
            {
                var result = await action(disk);

                // A stream is read to its end: the disks after this one are skipped, and the archive's last headers
                // and the compressed stream's checksum (gzip CRC-32, zstd) are verified.
                while (IsStream && await disks.MoveNextAsync())
                {
                }

                return result;
            }

            seen.Add(disk.EntryName);
        }

        throw new Cli.CommandFailedException(seen.Count == 0 && name is null ? $"'{_path}' holds no disk."
            : $"'{_path}' has no disk '{name}' (it has: {string.Join(", ", seen)}).");
    }

    /// <summary>
    /// Reads standard input to its end after the work is done, so that the program writing into the pipe does not see
    /// a broken pipe (tar pads archives, and a caller may pick the first of several disks). Nothing for a file.
    /// </summary>
    public async Task DrainStandardInputAsync(CancellationToken cancellationToken)
    {
        if (_path != "-" || _stream is null)
        {
            return;
        }

        var buffer = new byte[256 * 1024];
        while (await _stream.ReadAsync(buffer, cancellationToken) > 0)
        {
        }
    }

    public async ValueTask DisposeAsync()
    {
        if (_sequential is not null)
        {
            await _sequential.DisposeAsync();
        }

        if (_stream is not null)
        {
            await _stream.DisposeAsync();
        }

        if (_tar is not null)
        {
            await _tar.DisposeAsync();
        }
    }

    private static async Task<ImageInput> OpenStreamAsync(string path, string name, Stream stream, string? format, CancellationToken cancellationToken)
    {
        try
        {
            var archive = await SequentialArchive.OpenAsync(stream, name, new DiskImageOptions { Format = format }, cancellationToken);
            return new ImageInput(path, format, null, stream, archive);
        }
        catch
        {
            await stream.DisposeAsync();
            throw;
        }
    }

    /// <summary>Whether a stream starting with <paramref name="head"/> is none of what the image probes know: compressed, a tar, an image format.</summary>
    private static async Task<bool> IsRawDataAsync(byte[] head, CancellationToken cancellationToken)
    {
        if (IsCompressed(head))
        {
            return false;
        }

        var source = new MemorySource(head, "stdin");
        return !await TarArchive.ProbeAsync(source, cancellationToken) && await DiskImage.ProbeAsync(source, cancellationToken) == "raw";
    }

    private static bool IsCompressed(ReadOnlySpan<byte> head) =>
        head.StartsWith((ReadOnlySpan<byte>)[0x1f, 0x8b]) || head.StartsWith((ReadOnlySpan<byte>)[0x28, 0xb5, 0x2f, 0xfd])
        || head.StartsWith((ReadOnlySpan<byte>)[0xfd, (byte)'7', (byte)'z', (byte)'X', (byte)'Z', 0x00]);
}
