using System.Buffers.Binary;
using System.Text;

namespace Whitesky.Migration.Ovf;

/// <summary>
/// Writes a POSIX ustar archive forward-only, as OVA packages are: a 512-byte header per file, the data
/// padded to 512 bytes, two zero blocks at the end. Sizes beyond 8 GiB use the base-256 size field that
/// GNU tar, bsdtar and Python's tarfile read.
/// </summary>
internal sealed class UstarWriter(Stream output)
{
    private static readonly byte[] Zeroes = new byte[TarConstants.BlockSize * 2];

    /// <summary>Bytes written so far.</summary>
    public long Position { get; private set; }

    /// <summary>Writes the header of a regular file of <paramref name="size"/> bytes.</summary>
    public async ValueTask WriteHeaderAsync(string name, long size, DateTimeOffset modified, CancellationToken cancellationToken)
    {
        var header = new byte[TarConstants.BlockSize];
        var nameBytes = Encoding.UTF8.GetBytes(name);
        if (nameBytes.Length > TarConstants.NameLength)
        {
            throw new ArgumentException($"'{name}' is longer than the {TarConstants.NameLength} bytes a ustar name holds", nameof(name));
        }

        nameBytes.CopyTo(header, TarConstants.NameOffset);
        Octal(header.AsSpan(TarConstants.ModeOffset, TarConstants.ModeLength), Convert.ToInt64("644", 8));
        Octal(header.AsSpan(TarConstants.UidOffset, TarConstants.IdLength), 0);
        Octal(header.AsSpan(TarConstants.GidOffset, TarConstants.IdLength), 0);
        if (size <= TarConstants.MaxOctalSize)
        {
            Octal(header.AsSpan(TarConstants.SizeOffset, TarConstants.SizeLength), size);
        }
        else
        {
            header[TarConstants.SizeOffset] = 0x80;
            BinaryPrimitives.WriteInt64BigEndian(header.AsSpan(TarConstants.SizeOffset + 4), size);
        }

        Octal(header.AsSpan(TarConstants.MtimeOffset, TarConstants.MtimeLength), Math.Max(0, modified.ToUnixTimeSeconds()));
        header[TarConstants.TypeFlagOffset] = TarConstants.TypeRegular;
        TarConstants.UstarMagic.CopyTo(header.AsSpan(TarConstants.MagicOffset));
        header[TarConstants.VersionOffset] = (byte)'0';
        header[TarConstants.VersionOffset + 1] = (byte)'0';
        "root"u8.CopyTo(header.AsSpan(TarConstants.UnameOffset));
        "root"u8.CopyTo(header.AsSpan(TarConstants.GnameOffset));

        header.AsSpan(TarConstants.ChecksumOffset, TarConstants.ChecksumLength).Fill((byte)' ');
        long sum = 0;
        foreach (var b in header)
        {
            sum += b;
        }

        // Six octal digits, NUL, space: the layout every tar writes.
        Encoding.ASCII.GetBytes(Convert.ToString(sum, 8).PadLeft(6, '0'), header.AsSpan(TarConstants.ChecksumOffset));
        header[TarConstants.ChecksumOffset + 6] = 0;
        header[TarConstants.ChecksumOffset + 7] = (byte)' ';
        await WriteAsync(header, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Writes file data.</summary>
    public async ValueTask WriteAsync(ReadOnlyMemory<byte> data, CancellationToken cancellationToken)
    {
        await output.WriteAsync(data, cancellationToken).ConfigureAwait(false);
        Position += data.Length;
    }

    /// <summary>Pads the last file's data to a block boundary.</summary>
    public ValueTask PadAsync(CancellationToken cancellationToken)
    {
        var pad = (int)(TarIndex.RoundUp(Position) - Position);
        return pad == 0 ? ValueTask.CompletedTask : WriteAsync(Zeroes.AsMemory(0, pad), cancellationToken);
    }

    /// <summary>Writes the two zero blocks that end the archive.</summary>
    public async ValueTask FinishAsync(CancellationToken cancellationToken)
    {
        await PadAsync(cancellationToken).ConfigureAwait(false);
        await WriteAsync(Zeroes, cancellationToken).ConfigureAwait(false);
    }

    private static void Octal(Span<byte> field, long value)
    {
        var digits = Convert.ToString(value, 8).PadLeft(field.Length - 1, '0');
        Encoding.ASCII.GetBytes(digits, field);
        field[^1] = 0;
    }
}
