using System.Buffers.Binary;
using System.Globalization;
using System.Text;

namespace Whitesky.Migration.Ovf;

/// <summary>
/// Lists the regular files of a tar archive (ustar, pax <c>path</c>/<c>size</c> records, GNU long names and
/// base-256 sizes) with their offsets, reading only the headers. Checksums are verified; every entry must lie
/// inside the file.
/// </summary>
internal static class TarIndex
{
    public static async Task<IReadOnlyList<TarEntry>> ReadAsync(Stream archive, string name, CancellationToken cancellationToken)
    {
        var length = archive.Length;
        var header = new byte[TarConstants.BlockSize];
        List<TarEntry> entries = [];
        long offset = 0;
        string? pendingName = null;
        long? pendingSize = null;
        while (offset + TarConstants.BlockSize <= length)
        {
            archive.Position = offset;
            await archive.ReadExactlyAsync(header, cancellationToken).ConfigureAwait(false);
            if (header.AsSpan().IndexOfAnyExcept((byte)0) < 0)
            {
                break;
            }

            var where = $"tar header at offset {offset}";
            VerifyChecksum(header, name, where);
            var size = ReadSize(header.AsSpan(TarConstants.SizeOffset, TarConstants.SizeLength), name, where);
            var dataOffset = offset + TarConstants.BlockSize;
            if (size > length - dataOffset)
            {
                throw new OvfException(name, where, $"the entry's {size} bytes run past the end of the archive ({length} bytes)");
            }

            var type = header[TarConstants.TypeFlagOffset];
            switch (type)
            {
                case TarConstants.TypePaxHeader or TarConstants.TypeGnuLongName:
                    if (size > TarConstants.MaxPaxHeaderBytes)
                    {
                        throw new OvfException(name, where, $"an extended header of {size} bytes is larger than the {TarConstants.MaxPaxHeaderBytes} accepted");
                    }

                    var extended = new byte[size];
                    archive.Position = dataOffset;
                    await archive.ReadExactlyAsync(extended, cancellationToken).ConfigureAwait(false);
                    if (type == TarConstants.TypeGnuLongName)
                    {
                        pendingName = Encoding.UTF8.GetString(extended).TrimEnd('\0');
                    }
                    else
                    {
                        ParsePax(extended, name, where, ref pendingName, ref pendingSize);
                    }

                    break;
                case TarConstants.TypeRegular or TarConstants.TypeRegularOld:
                    if (entries.Count >= OvfConstants.MaxArchiveEntries)
                    {
                        throw new OvfException(name, where, $"more than {OvfConstants.MaxArchiveEntries} entries");
                    }

                    size = pendingSize ?? size;
                    if (size > length - dataOffset)
                    {
                        throw new OvfException(name, where, $"the entry's {size} bytes run past the end of the archive ({length} bytes)");
                    }

                    entries.Add(new TarEntry(pendingName ?? HeaderName(header), dataOffset, size));
                    pendingName = null;
                    pendingSize = null;
                    break;
                default:
                    // Directories, links and global pax headers carry no package file.
                    pendingName = null;
                    pendingSize = null;
                    break;
            }

            offset = dataOffset + RoundUp(size);
        }

        return entries;
    }

    public static long RoundUp(long size) => (size + TarConstants.BlockSize - 1) / TarConstants.BlockSize * TarConstants.BlockSize;

    private static void VerifyChecksum(byte[] header, string name, string where)
    {
        long sum = 0;
        for (var i = 0; i < TarConstants.BlockSize; i++)
        {
            sum += i is >= TarConstants.ChecksumOffset and < TarConstants.ChecksumOffset + TarConstants.ChecksumLength ? (byte)' ' : header[i];
        }

        var stored = ParseOctal(header.AsSpan(TarConstants.ChecksumOffset, TarConstants.ChecksumLength));
        if (stored != sum)
        {
            throw new OvfException(name, where, $"header checksum {stored?.ToString(CultureInfo.InvariantCulture) ?? "(not a number)"} does not match the header ({sum}): not a tar archive, or damaged");
        }
    }

    private static long ReadSize(ReadOnlySpan<byte> field, string name, string where)
    {
        if ((field[0] & 0x80) != 0)
        {
            // Base-256: the remaining bits, big-endian. Only values that fit a positive long are accepted.
            if (field[0] != 0x80 || field[1..4].IndexOfAnyExcept((byte)0) >= 0)
            {
                throw new OvfException(name, where, "a base-256 size is negative or larger than 2^63");
            }

            var value = BinaryPrimitives.ReadInt64BigEndian(field[4..]);
            return value >= 0 ? value : throw new OvfException(name, where, "a base-256 size is too large");
        }

        return ParseOctal(field) ?? throw new OvfException(name, where, "the size field is not an octal number");
    }

    private static long? ParseOctal(ReadOnlySpan<byte> field)
    {
        long value = 0;
        var digits = 0;
        foreach (var b in field)
        {
            if (b is (byte)' ' or 0)
            {
                if (digits > 0)
                {
                    break;
                }

                continue;
            }

            if (b is < (byte)'0' or > (byte)'7')
            {
                return null;
            }

            value = (value << 3) | (uint)(b - '0');
            digits++;
        }

        return digits == 0 ? null : value;
    }

    private static string HeaderName(byte[] header)
    {
        var name = CString(header.AsSpan(TarConstants.NameOffset, TarConstants.NameLength));
        if (header.AsSpan(TarConstants.MagicOffset, 5).SequenceEqual("ustar"u8))
        {
            var prefix = CString(header.AsSpan(TarConstants.PrefixOffset, TarConstants.PrefixLength));
            if (prefix.Length > 0)
            {
                name = prefix + "/" + name;
            }
        }

        return name;
    }

    private static string CString(ReadOnlySpan<byte> field)
    {
        var end = field.IndexOf((byte)0);
        return Encoding.UTF8.GetString(end < 0 ? field : field[..end]);
    }

    private static void ParsePax(byte[] records, string name, string where, ref string? path, ref long? size)
    {
        var position = 0;
        while (position < records.Length && records[position] != 0)
        {
            var space = Array.IndexOf(records, (byte)' ', position);
            if (space < 0 || !int.TryParse(records.AsSpan(position, space - position), NumberStyles.None, CultureInfo.InvariantCulture, out var recordLength) ||
                recordLength <= space - position || position + recordLength > records.Length)
            {
                throw new OvfException(name, where, "a pax extended header record is malformed");
            }

            var record = Encoding.UTF8.GetString(records, space + 1, position + recordLength - space - 2);
            var equals = record.IndexOf('=', StringComparison.Ordinal);
            if (equals > 0)
            {
                var key = record[..equals];
                var value = record[(equals + 1)..];
                if (key == "path")
                {
                    path = value;
                }
                else if (key == "size")
                {
                    size = long.TryParse(value, NumberStyles.None, CultureInfo.InvariantCulture, out var s) && s <= OvfConstants.MaxBytes
                        ? s
                        : throw new OvfException(name, where, $"pax size '{OvfUnits.Clip(value)}' is not a number up to 2^60");
                }
            }

            position += recordLength;
        }
    }
}
