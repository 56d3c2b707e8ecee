using System.Globalization;
using System.Text;

namespace Whitesky.DiskFormats.Tests.Containers;

/// <summary>Writes tar headers field by field, for archives no tool would write (hostile names, base-256 sizes, bad checksums).</summary>
internal sealed class TarBuilder
{
    private readonly MemoryStream _output = new();

    public static byte[] Header(string name, long size, byte type = (byte)'0', bool gnu = false, bool base256Size = false)
    {
        var block = new byte[512];
        Encoding.UTF8.GetBytes(name).AsSpan(0, Math.Min(100, Encoding.UTF8.GetByteCount(name))).CopyTo(block);
        Octal(block.AsSpan(100, 8), 0x1a4);
        Octal(block.AsSpan(108, 8), 0);
        Octal(block.AsSpan(116, 8), 0);
        if (base256Size)
        {
            Base256(block.AsSpan(124, 12), size);
        }
        else
        {
            Octal(block.AsSpan(124, 12), size);
        }

        Octal(block.AsSpan(136, 12), 0);
        block[156] = type;
        (gnu ? "ustar  \0"u8 : "ustar\u000000"u8).CopyTo(block.AsSpan(257));
        return block;
    }

    /// <summary>Sets the checksum of a header (after its other fields are final).</summary>
    public static void Seal(byte[] block)
    {
        block.AsSpan(148, 8).Fill((byte)' ');
        var sum = block.Sum(b => (int)b);
        Encoding.ASCII.GetBytes(Convert.ToString(sum, 8).PadLeft(6, '0') + "\0 ").CopyTo(block, 148);
    }

    public static void Octal(Span<byte> field, long value)
    {
        // Twelve digits fill a twelve-byte field without a terminator, as GNU tar writes them.
        var text = Convert.ToString(value, 8).PadLeft(field.Length - 1, '0');
        field.Clear();
        Encoding.ASCII.GetBytes(text).CopyTo(field);
    }

    public static void Base256(Span<byte> field, long value)
    {
        field.Clear();
        field[0] = 0x80;
        for (var i = field.Length - 1; i > 0 && value != 0; i--, value >>= 8)
        {
            field[i] = (byte)value;
        }
    }

    public TarBuilder Add(byte[] header, ReadOnlySpan<byte> data = default, bool seal = true)
    {
        if (seal)
        {
            Seal(header);
        }

        _output.Write(header);
        _output.Write(data);
        var padding = (512 - data.Length % 512) % 512;
        _output.Write(new byte[padding]);
        return this;
    }

    public TarBuilder File(string name, ReadOnlySpan<byte> data) => Add(Header(name, data.Length), data);

    public TarBuilder Raw(ReadOnlySpan<byte> bytes)
    {
        _output.Write(bytes);
        return this;
    }

    public byte[] Build(bool end = true)
    {
        if (end)
        {
            _output.Write(new byte[1024]);
        }

        return _output.ToArray();
    }

    public static byte[] Pax(params (string Key, string Value)[] records)
    {
        var text = new StringBuilder();
        foreach (var (key, value) in records)
        {
            var body = $" {key}={value}\n";
            var length = body.Length + 1;
            while ((length.ToString(CultureInfo.InvariantCulture) + body).Length != length)
            {
                length++;
            }

            text.Append(length.ToString(CultureInfo.InvariantCulture)).Append(body);
        }

        return Encoding.UTF8.GetBytes(text.ToString());
    }
}
