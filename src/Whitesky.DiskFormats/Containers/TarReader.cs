using System.Buffers;
using System.Globalization;
using System.Text;

namespace Whitesky.DiskFormats.Containers;

/// <summary>
/// Reads a tar archive in one forward pass over a stream that need not seek (a pipe, a download, a decompressor):
/// POSIX ustar and pax (<c>path</c>, <c>linkpath</c>, <c>size</c>), GNU long names and links, GNU base-256 sizes and
/// GNU old-format sparse files. Every header's checksum is verified; entry names that are absolute, climb out with
/// <c>..</c> or repeat an earlier file are refused.
/// </summary>
public sealed class TarReader : IAsyncDisposable
{
    private readonly PeekStream _stream;
    private readonly HashSet<string> _files = new(StringComparer.Ordinal);
    private readonly Dictionary<string, string> _globalPax = new(StringComparer.Ordinal);
    private readonly byte[] _block = new byte[TarConstants.BlockSize];
    private TarEntry? _current;
    private long _remaining;
    private long _padding;
    private int _entries;
    private bool _ended;

    /// <summary>Reads the archive in <paramref name="stream"/>, from its current position.</summary>
    /// <param name="stream">The archive.</param>
    /// <param name="name">A name for messages (the file or URL without credentials).</param>
    /// <param name="leaveOpen">Whether disposing the reader leaves <paramref name="stream"/> open.</param>
    public TarReader(Stream stream, string name = "tar", bool leaveOpen = true)
    {
        ArgumentNullException.ThrowIfNull(stream);
        ArgumentNullException.ThrowIfNull(name);
        _stream = stream as PeekStream ?? new PeekStream(stream, name, ownsInner: !leaveOpen);
    }

    internal TarReader(PeekStream stream) => _stream = stream;

    /// <summary>The archive's name, for messages.</summary>
    public string Name => _stream.Name;

    /// <summary>The entry <see cref="GetNextEntryAsync"/> returned last, or null.</summary>
    public TarEntry? Current => _current;

    /// <summary>
    /// Reads the headers of the next entry, skipping what is left of the current one; null at the end of the archive.
    /// </summary>
    /// <exception cref="DiskFormatException">A header is malformed, a name is refused, or the stream is truncated.</exception>
    public async ValueTask<TarEntry?> GetNextEntryAsync(CancellationToken cancellationToken = default)
    {
        if (_ended)
        {
            return null;
        }

        if (_current is not null)
        {
            await _stream.SkipAsync(_remaining + _padding, $"entry '{_current.Name}'", cancellationToken).ConfigureAwait(false);
            _current = null;
            _remaining = _padding = 0;
        }

        string? longName = null, longLink = null;
        Dictionary<string, string>? pax = null;
        for (var metadata = 0; ; metadata++)
        {
            if (metadata > TarConstants.MaxMetadataEntriesInARow)
            {
                throw Error("header", _stream.Consumed, $"more than {TarConstants.MaxMetadataEntriesInARow} metadata headers (long names, pax) in a row");
            }

            var headerOffset = _stream.Consumed;
            var read = await _stream.ReadFullAsync(_block, cancellationToken).ConfigureAwait(false);
            if (read < TarConstants.BlockSize)
            {
                throw Error("header", headerOffset, read == 0
                    ? "the stream ends without the archive's end blocks (truncated?)"
                    : "the stream ends inside it");
            }

            if (!_block.AsSpan().ContainsAnyExcept((byte)0))
            {
                if (longName is not null || longLink is not null || pax is not null)
                {
                    throw Error("header", headerOffset, "the archive ends after a long name or pax header without its entry");
                }

                _ended = true;
                return null;
            }

            CheckChecksum(_block, headerOffset);
            var type = _block[TarConstants.TypeFlagOffset];
            switch (type)
            {
                case TarConstants.TypeGnuLongName:
                    longName = CString(await ReadMetadataAsync(headerOffset, TarConstants.MaxLongNameBytes, "GNU long name", cancellationToken).ConfigureAwait(false));
                    continue;
                case TarConstants.TypeGnuLongLink:
                    longLink = CString(await ReadMetadataAsync(headerOffset, TarConstants.MaxLongNameBytes, "GNU long link name", cancellationToken).ConfigureAwait(false));
                    continue;
                case TarConstants.TypePaxExtended:
                    pax ??= new Dictionary<string, string>(StringComparer.Ordinal);
                    ParsePax(await ReadMetadataAsync(headerOffset, TarConstants.MaxPaxHeaderBytes, "pax header", cancellationToken).ConfigureAwait(false), pax, headerOffset);
                    continue;
                case TarConstants.TypePaxGlobal:
                    ParsePax(await ReadMetadataAsync(headerOffset, TarConstants.MaxPaxHeaderBytes, "pax global header", cancellationToken).ConfigureAwait(false), _globalPax, headerOffset);
                    if (_globalPax.Count > TarConstants.MaxGlobalPaxRecords || _globalPax.Sum(p => (long)p.Key.Length + p.Value.Length) > TarConstants.MaxPaxHeaderBytes)
                    {
                        throw Error("pax global header", headerOffset, $"the global pax records grow beyond {TarConstants.MaxGlobalPaxRecords} keys or {TarConstants.MaxPaxHeaderBytes} bytes");
                    }

                    continue;
            }

            if (++_entries > TarConstants.MaxEntries)
            {
                throw Error("header", headerOffset, $"the archive has more than {TarConstants.MaxEntries} entries");
            }

            return await ReadEntryAsync(headerOffset, type, longName, longLink, pax, cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>
    /// The stored bytes of the current entry (for a sparse file, its runs one after the other), read forward. The
    /// stream is valid until the next <see cref="GetNextEntryAsync"/>; it ends at the entry's end.
    /// </summary>
    public Stream GetEntryStream()
    {
        var entry = _current ?? throw new InvalidOperationException("There is no current entry: call GetNextEntryAsync first.");
        return new EntryStream(this, entry);
    }

    /// <inheritdoc />
    public ValueTask DisposeAsync() => _stream.DisposeAsync();

    internal PeekStream Stream => _stream;

    /// <summary>Bytes of the current entry not read yet.</summary>
    internal long Remaining => _remaining;

    /// <summary>Checks that 512 bytes look like a tar header: a valid checksum and a ustar or GNU magic.</summary>
    internal static bool LooksLikeHeader(ReadOnlySpan<byte> block) =>
        block.Length >= TarConstants.BlockSize
        && (block[TarConstants.MagicOffset..].StartsWith(TarConstants.UstarMagic) || block[TarConstants.MagicOffset..].StartsWith(TarConstants.GnuMagic))
        && TryParseNumber(block.Slice(TarConstants.ChecksumOffset, TarConstants.ChecksumLength), out var stored)
        && ChecksumMatches(block, stored);

    /// <summary>The name of the first entry in a header block (not checked), for probing.</summary>
    internal static string FirstName(ReadOnlySpan<byte> block) => CString(block[..TarConstants.NameLength]);

    private async ValueTask<TarEntry> ReadEntryAsync(long headerOffset, byte type, string? longName, string? longLink, Dictionary<string, string>? pax,
        CancellationToken cancellationToken)
    {
        var block = _block;
        var name = Lookup(pax, "path") ?? longName ?? HeaderName(block);
        var linkName = Lookup(pax, "linkpath") ?? longLink ?? CString(block.AsSpan(TarConstants.LinkNameOffset, TarConstants.LinkNameLength));
        var size = ParseSize(block.AsSpan(TarConstants.SizeOffset, TarConstants.SizeLength), headerOffset + TarConstants.SizeOffset, "size");
        if (Lookup(pax, "size") is { } paxSize)
        {
            if (!long.TryParse(paxSize, NumberStyles.None, CultureInfo.InvariantCulture, out size) || size > TarConstants.MaxEntrySize)
            {
                throw Error("pax header", headerOffset, $"size '{paxSize}' is not a number up to {TarConstants.MaxEntrySize}");
            }
        }

        var kind = type switch
        {
            TarConstants.TypeRegular or TarConstants.TypeRegularOld or TarConstants.TypeContiguous => TarEntryKind.File,
            TarConstants.TypeGnuSparse => TarEntryKind.SparseFile,
            TarConstants.TypeDirectory => TarEntryKind.Directory,
            TarConstants.TypeSymbolicLink => TarEntryKind.SymbolicLink,
            TarConstants.TypeHardLink => TarEntryKind.HardLink,
            _ => TarEntryKind.Other,
        };

        if (type == TarConstants.TypeRegularOld && name.EndsWith('/'))
        {
            kind = TarEntryKind.Directory;
        }

        // Links, devices, FIFOs and directories have no data whatever their size field says (as GNU tar reads them).
        var stored = kind is TarEntryKind.File or TarEntryKind.SparseFile || type is not (TarConstants.TypeHardLink or TarConstants.TypeSymbolicLink
            or TarConstants.TypeCharacterDevice or TarConstants.TypeBlockDevice or TarConstants.TypeDirectory or TarConstants.TypeFifo) ? size : 0;

        var checkedName = CheckName(name, headerOffset);
        if (kind != TarEntryKind.Directory && !_files.Add(checkedName))
        {
            throw Error("header", headerOffset, $"entry '{checkedName}' appears twice (refused: which one is meant is ambiguous)");
        }

        var length = stored;
        List<TarSparseRun>? sparse = null;
        if (kind == TarEntryKind.SparseFile)
        {
            length = ParseSize(block.AsSpan(TarConstants.GnuRealSizeOffset, TarConstants.GnuSparseFieldLength), headerOffset + TarConstants.GnuRealSizeOffset, "sparse real size");
            sparse = await ReadSparseMapAsync(headerOffset, checkedName, stored, length, cancellationToken).ConfigureAwait(false);
        }

        _current = new TarEntry
        {
            Name = checkedName,
            Kind = kind,
            Length = length,
            StoredLength = stored,
            DataOffset = _stream.Consumed,
            LinkName = kind is TarEntryKind.SymbolicLink or TarEntryKind.HardLink ? linkName : null,
            SparseMap = sparse,
        };
        _remaining = stored;
        _padding = Padding(stored);
        return _current;
    }

    private async ValueTask<List<TarSparseRun>> ReadSparseMapAsync(long headerOffset, string name, long stored, long length, CancellationToken cancellationToken)
    {
        var runs = new List<TarSparseRun>();
        long end = 0, total = 0;
        void Add(ReadOnlySpan<byte> field, long fieldOffset)
        {
            if (field[0] == 0)
            {
                return;
            }

            var offset = ParseSize(field[..TarConstants.GnuSparseFieldLength], fieldOffset, "sparse run offset");
            var count = ParseSize(field.Slice(TarConstants.GnuSparseFieldLength, TarConstants.GnuSparseFieldLength), fieldOffset + TarConstants.GnuSparseFieldLength, "sparse run length");
            if (offset < end || count > length - offset)
            {
                throw Error("sparse map", fieldOffset, $"run at {offset} of {count} bytes overlaps the previous run (ending at {end}) or the file's end ({length}) in entry '{name}'");
            }

            if (runs.Count >= TarConstants.MaxSparseEntries)
            {
                throw Error("sparse map", fieldOffset, $"entry '{name}' has more than {TarConstants.MaxSparseEntries} sparse runs");
            }

            if (count > 0)
            {
                runs.Add(new TarSparseRun(offset, count));
            }

            end = offset + count;
            total += count;
        }

        for (var i = 0; i < TarConstants.GnuSparseEntriesInHeader; i++)
        {
            var at = TarConstants.GnuSparseOffset + i * TarConstants.GnuSparseEntryLength;
            Add(_block.AsSpan(at, TarConstants.GnuSparseEntryLength), headerOffset + at);
        }

        var extended = _block[TarConstants.GnuIsExtendedOffset] != 0;
        var extension = new byte[TarConstants.BlockSize];
        while (extended)
        {
            var blockOffset = _stream.Consumed;
            await _stream.ReadExactAsync(extension, "sparse header extension", cancellationToken).ConfigureAwait(false);
            for (var i = 0; i < TarConstants.GnuSparseEntriesInExtension; i++)
            {
                var at = i * TarConstants.GnuSparseEntryLength;
                Add(extension.AsSpan(at, TarConstants.GnuSparseEntryLength), blockOffset + at);
            }

            extended = extension[TarConstants.GnuExtensionIsExtendedOffset] != 0;
        }

        if (total != stored)
        {
            throw Error("sparse map", headerOffset, $"the runs of entry '{name}' hold {total} bytes but {stored} are stored");
        }

        return runs;
    }

    private async ValueTask<byte[]> ReadMetadataAsync(long headerOffset, int limit, string structure, CancellationToken cancellationToken)
    {
        var size = ParseSize(_block.AsSpan(TarConstants.SizeOffset, TarConstants.SizeLength), headerOffset + TarConstants.SizeOffset, "size");
        if (size > limit)
        {
            throw Error(structure, headerOffset, $"{size} bytes is more than the {limit} allowed");
        }

        var content = new byte[size];
        await _stream.ReadExactAsync(content, structure, cancellationToken).ConfigureAwait(false);
        await _stream.SkipAsync(Padding(size), structure, cancellationToken).ConfigureAwait(false);
        return content;
    }

    private void ParsePax(byte[] content, Dictionary<string, string> into, long headerOffset)
    {
        var position = 0;
        while (position < content.Length)
        {
            var space = Array.IndexOf(content, (byte)' ', position);
            if (space < 0 || !int.TryParse(content.AsSpan(position, space - position), NumberStyles.None, CultureInfo.InvariantCulture, out var recordLength)
                || recordLength <= space - position + 1 || recordLength > content.Length - position || content[position + recordLength - 1] != '\n')
            {
                throw Error("pax header", headerOffset, $"the record at byte {position} is malformed");
            }

            var record = content.AsSpan(space + 1, position + recordLength - space - 2);
            var equals = record.IndexOf((byte)'=');
            if (equals <= 0)
            {
                throw Error("pax header", headerOffset, $"the record at byte {position} has no key=value");
            }

            var key = Encoding.UTF8.GetString(record[..equals]);
            if (key.StartsWith("GNU.sparse.", StringComparison.Ordinal))
            {
                throw Error("pax header", headerOffset, "GNU pax sparse files are not supported (write the archive with tar --format=oldgnu -S)");
            }

            into[key] = Encoding.UTF8.GetString(record[(equals + 1)..]);
            position += recordLength;
        }
    }

    private string? Lookup(Dictionary<string, string>? pax, string key) =>
        pax is not null && pax.TryGetValue(key, out var value) ? value : _globalPax.TryGetValue(key, out var global) ? global : null;

    private string HeaderName(byte[] block)
    {
        var name = CString(block.AsSpan(TarConstants.NameOffset, TarConstants.NameLength));
        if (block.AsSpan(TarConstants.MagicOffset).StartsWith(TarConstants.UstarMagic))
        {
            var prefix = CString(block.AsSpan(TarConstants.PrefixOffset, TarConstants.PrefixLength));
            if (prefix.Length > 0)
            {
                name = prefix + "/" + name;
            }
        }

        return name;
    }

    private string CheckName(string name, long headerOffset)
    {
        if (name.Contains('\0', StringComparison.Ordinal))
        {
            throw Error("header", headerOffset, "the entry name contains a NUL character");
        }

        if (name.StartsWith('/') || name.StartsWith('\\') || (name.Length >= 2 && char.IsAsciiLetter(name[0]) && name[1] == ':'))
        {
            throw Error("header", headerOffset, $"entry '{name}' has an absolute path (refused)");
        }

        var parts = new List<string>();
        foreach (var part in name.Split('/'))
        {
            if (part == "..")
            {
                throw Error("header", headerOffset, $"entry '{name}' climbs out of the archive with '..' (refused)");
            }

            if (part.Length > 0 && part != ".")
            {
                parts.Add(part);
            }
        }

        return string.Join('/', parts);
    }

    private void CheckChecksum(byte[] block, long headerOffset)
    {
        if (!TryParseNumber(block.AsSpan(TarConstants.ChecksumOffset, TarConstants.ChecksumLength), out var stored))
        {
            throw Error("header", headerOffset + TarConstants.ChecksumOffset, "the checksum field is not an octal number");
        }

        if (!ChecksumMatches(block, stored))
        {
            throw Error("header", headerOffset, $"the header checksum does not match (stored {stored}): the archive is damaged or this is not a tar archive");
        }
    }

    private static bool ChecksumMatches(ReadOnlySpan<byte> block, long stored)
    {
        long unsigned = 0, signed = 0;
        for (var i = 0; i < TarConstants.BlockSize; i++)
        {
            var b = i is >= TarConstants.ChecksumOffset and < TarConstants.ChecksumOffset + TarConstants.ChecksumLength ? (byte)' ' : block[i];
            unsigned += b;
            signed += (sbyte)b;
        }

        return stored == unsigned || stored == signed;
    }

    private long ParseSize(ReadOnlySpan<byte> field, long fieldOffset, string what)
    {
        if ((field[0] & 0x80) != 0)
        {
            // GNU base-256: the rest of the first byte and the following bytes are a big-endian two's-complement number.
            if (field[0] != 0x80)
            {
                throw Error("header", fieldOffset, $"the {what} is a negative or oversized base-256 number");
            }

            long value = 0;
            foreach (var b in field[1..])
            {
                if (value > (TarConstants.MaxEntrySize >> 8))
                {
                    throw Error("header", fieldOffset, $"the {what} is more than {TarConstants.MaxEntrySize} bytes");
                }

                value = (value << 8) | b;
            }

            return value <= TarConstants.MaxEntrySize ? value
                : throw Error("header", fieldOffset, $"the {what} ({value}) is more than {TarConstants.MaxEntrySize} bytes");
        }

        if (!TryParseNumber(field, out var octal))
        {
            throw Error("header", fieldOffset, $"the {what} is not an octal number");
        }

        return octal <= TarConstants.MaxEntrySize ? octal
            : throw Error("header", fieldOffset, $"the {what} ({octal}) is more than {TarConstants.MaxEntrySize} bytes");
    }

    /// <summary>An octal field: optional leading spaces, digits, then NUL or space or the field's end.</summary>
    private static bool TryParseNumber(ReadOnlySpan<byte> field, out long value)
    {
        value = 0;
        var i = 0;
        while (i < field.Length && field[i] == ' ')
        {
            i++;
        }

        var digits = 0;
        for (; i < field.Length && field[i] is >= (byte)'0' and <= (byte)'7'; i++, digits++)
        {
            if (value > long.MaxValue >> 3)
            {
                return false;
            }

            value = (value << 3) | (uint)(field[i] - '0');
        }

        for (; i < field.Length; i++)
        {
            if (field[i] is not (0 or (byte)' '))
            {
                return false;
            }
        }

        return digits > 0;
    }

    private static string CString(ReadOnlySpan<byte> field)
    {
        var end = field.IndexOf((byte)0);
        return Encoding.UTF8.GetString(end < 0 ? field : field[..end]);
    }

    private static long Padding(long size) => (TarConstants.BlockSize - size % TarConstants.BlockSize) % TarConstants.BlockSize;

    private DiskFormatException Error(string structure, long offset, string problem) => new(Name, "tar " + structure, offset, problem);

    private async ValueTask<int> ReadEntryBytesAsync(TarEntry entry, Memory<byte> buffer, CancellationToken cancellationToken)
    {
        if (!ReferenceEquals(entry, _current))
        {
            throw new InvalidOperationException($"The stream of entry '{entry.Name}' was read after the reader moved on.");
        }

        if (_remaining == 0 || buffer.Length == 0)
        {
            return 0;
        }

        var want = (int)Math.Min(buffer.Length, _remaining);
        var read = await _stream.ReadAsync(buffer[..want], cancellationToken).ConfigureAwait(false);
        if (read == 0)
        {
            throw Error("entry", _stream.Consumed, $"the stream ends inside entry '{entry.Name}' ({_remaining} bytes short)");
        }

        _remaining -= read;
        return read;
    }

    /// <summary>The stored bytes of one entry.</summary>
    private sealed class EntryStream(TarReader reader, TarEntry entry) : Stream
    {
        public override bool CanRead => true;
        public override bool CanSeek => false;
        public override bool CanWrite => false;
        public override long Length => entry.StoredLength;
        public override long Position { get => entry.StoredLength - reader._remaining; set => throw new NotSupportedException(); }

        public override ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default) =>
            reader.ReadEntryBytesAsync(entry, buffer, cancellationToken);

        public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
            ReadAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

        public override int Read(byte[] buffer, int offset, int count)
        {
            var rented = ArrayPool<byte>.Shared.Rent(count);
            try
            {
                var read = reader.ReadEntryBytesAsync(entry, rented.AsMemory(0, count), CancellationToken.None).AsTask().GetAwaiter().GetResult();
                rented.AsSpan(0, read).CopyTo(buffer.AsSpan(offset));
                return read;
            }
            finally
            {
                ArrayPool<byte>.Shared.Return(rented);
            }
        }

        public override void Flush() { }
        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
        public override void SetLength(long value) => throw new NotSupportedException();
        public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
    }
}
