namespace Whitesky.Migration.Ovf;

/// <summary>POSIX ustar layout (IEEE Std 1003.1, "pax" format's base), as OVA archives use it.</summary>
internal static class TarConstants
{
    public const int BlockSize = 512;
    public const int NameOffset = 0, NameLength = 100;
    public const int ModeOffset = 100, ModeLength = 8;
    public const int UidOffset = 108, GidOffset = 116, IdLength = 8;
    public const int SizeOffset = 124, SizeLength = 12;
    public const int MtimeOffset = 136, MtimeLength = 12;
    public const int ChecksumOffset = 148, ChecksumLength = 8;
    public const int TypeFlagOffset = 156;
    public const int MagicOffset = 257;
    public const int VersionOffset = 263;
    public const int UnameOffset = 265, GnameOffset = 297, OwnerNameLength = 32;
    public const int PrefixOffset = 345, PrefixLength = 155;

    public const byte TypeRegular = (byte)'0';
    public const byte TypeRegularOld = 0;
    public const byte TypePaxHeader = (byte)'x';
    public const byte TypePaxGlobal = (byte)'g';
    public const byte TypeGnuLongName = (byte)'L';

    /// <summary>"ustar\0" then version "00".</summary>
    public static ReadOnlySpan<byte> UstarMagic => "ustar\0"u8;

    /// <summary>The largest size the 11 octal digits of the size field hold; larger sizes use base-256 (GNU, star, bsdtar).</summary>
    public const long MaxOctalSize = (1L << 33) - 1;

    /// <summary>Longest pax extended header accepted (path and size records are all we read).</summary>
    public const int MaxPaxHeaderBytes = 64 << 10;
}
