namespace Whitesky.DiskFormats.Containers;

/// <summary>
/// A tar (or OVA) file read with random access: its entries listed from their headers (data skipped, not read), and
/// each file entry opened as an <see cref="IRandomAccessSource"/>, so <see cref="DiskImage.OpenAsync(IRandomAccessSource, DiskImageOptions?, CancellationToken)"/>
/// opens a disk inside it in place. GNU sparse entries read as their full file with zeroes in the holes.
/// </summary>
public sealed class TarArchive : IAsyncDisposable
{
    private readonly IRandomAccessSource _source;
    private readonly bool _ownsSource;

    private TarArchive(IRandomAccessSource source, bool ownsSource, IReadOnlyList<TarEntry> entries)
    {
        _source = source;
        _ownsSource = ownsSource;
        Entries = entries;
    }

    /// <summary>The archive's name.</summary>
    public string Name => _source.Name;

    /// <summary>The entries in archive order (names checked, duplicates refused).</summary>
    public IReadOnlyList<TarEntry> Entries { get; }

    /// <summary>Whether the first entry is an OVF descriptor (an OVA package).</summary>
    public bool IsOva => Entries.Count > 0 && Entries[0].IsFile && Entries[0].Name.EndsWith(".ovf", StringComparison.OrdinalIgnoreCase);

    /// <summary>Whether a source starts with a tar header (a valid checksum and a ustar or GNU magic).</summary>
    public static async Task<bool> ProbeAsync(IRandomAccessSource source, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(source);
        var block = new byte[TarConstants.BlockSize];
        return await source.ReadAsync(0, block, cancellationToken).ConfigureAwait(false) == block.Length && TarReader.LooksLikeHeader(block);
    }

    /// <summary>Opens a tar file.</summary>
    /// <exception cref="DiskFormatException">A header is malformed, a name is refused, or the file is truncated.</exception>
    public static Task<TarArchive> OpenAsync(string path, CancellationToken cancellationToken = default) =>
        FileSource.OpenOwnedAsync(path, source => OpenAsync(source, ownsSource: true, cancellationToken));

    /// <summary>Reads the entries of a tar archive in <paramref name="source"/>; the source stays the caller's.</summary>
    /// <exception cref="DiskFormatException">A header is malformed, a name is refused, or the source is truncated.</exception>
    public static Task<TarArchive> OpenAsync(IRandomAccessSource source, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(source);
        return OpenAsync(source, ownsSource: false, cancellationToken);
    }

    /// <summary>An entry's content as a source (reads go to the archive; disposing it does nothing).</summary>
    public IRandomAccessSource OpenEntry(TarEntry entry)
    {
        ArgumentNullException.ThrowIfNull(entry);
        if (!entry.IsFile)
        {
            throw new ArgumentException($"'{entry.Name}' is a {entry.Kind}, not a file.", nameof(entry));
        }

        return new TarEntrySource(_source, entry);
    }

    /// <summary>Reads a small entry (a descriptor, a manifest) as UTF-8 text; at most 16 MiB.</summary>
    public async Task<string> ReadTextAsync(TarEntry entry, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(entry);
        if (entry.Length > 16 << 20)
        {
            throw new DiskFormatException(Name, "tar entry", entry.DataOffset, $"'{entry.Name}' is {entry.Length} bytes, more than 16 MiB of text");
        }

        var bytes = new byte[entry.Length];
        await using var source = OpenEntry(entry);
        await source.ReadAsync(0, bytes, cancellationToken).ConfigureAwait(false);
        return System.Text.Encoding.UTF8.GetString(bytes);
    }

    /// <inheritdoc />
    public ValueTask DisposeAsync() => _ownsSource ? _source.DisposeAsync() : ValueTask.CompletedTask;

    private static async Task<TarArchive> OpenAsync(IRandomAccessSource source, bool ownsSource, CancellationToken cancellationToken)
    {
        var reader = new TarReader(new PeekStream(new SourceStream(source), source.Name, ownsInner: true));
        await using (reader.ConfigureAwait(false))
        {
            var entries = new List<TarEntry>();
            while (await reader.GetNextEntryAsync(cancellationToken).ConfigureAwait(false) is { } entry)
            {
                entries.Add(entry);
            }

            return new TarArchive(source, ownsSource, entries);
        }
    }
}
