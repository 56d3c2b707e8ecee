namespace Whitesky.DiskFormats.Containers;

/// <summary>Constants of the tar formats (POSIX ustar and pax, GNU tar's old format with its sparse and long-name entries).</summary>
internal static class TarConstants
{
    public const int BlockSize = 512;

    // Header field offsets and lengths (POSIX.1-1988 ustar; GNU oldgnu shares the first 345 bytes).
    public const int NameOffset = 0;
    public const int NameLength = 100;
    public const int ModeOffset = 100;
    public const int SizeOffset = 124;
    public const int SizeLength = 12;
    public const int ChecksumOffset = 148;
    public const int ChecksumLength = 8;
    public const int TypeFlagOffset = 156;
    public const int LinkNameOffset = 157;
    public const int LinkNameLength = 100;
    public const int MagicOffset = 257;
    public const int PrefixOffset = 345;
    public const int PrefixLength = 155;

    /// <summary>"ustar\0" followed by version "00": POSIX ustar and pax.</summary>
    public static ReadOnlySpan<byte> UstarMagic => "ustar\0"u8;

    /// <summary>"ustar  \0": GNU tar's old format (magic and version run together).</summary>
    public static ReadOnlySpan<byte> GnuMagic => "ustar  \0"u8;

    // GNU oldgnu sparse header (typeflag 'S'): four sparse entries in the header, more in extension blocks.
    public const int GnuSparseOffset = 386;
    public const int GnuSparseEntriesInHeader = 4;
    public const int GnuIsExtendedOffset = 482;
    public const int GnuRealSizeOffset = 483;
    public const int GnuSparseEntryLength = 24;
    public const int GnuSparseFieldLength = 12;
    public const int GnuSparseEntriesInExtension = 21;
    public const int GnuExtensionIsExtendedOffset = 504;

    public const byte TypeRegular = (byte)'0';
    public const byte TypeRegularOld = 0;
    public const byte TypeHardLink = (byte)'1';
    public const byte TypeSymbolicLink = (byte)'2';
    public const byte TypeCharacterDevice = (byte)'3';
    public const byte TypeBlockDevice = (byte)'4';
    public const byte TypeDirectory = (byte)'5';
    public const byte TypeFifo = (byte)'6';
    public const byte TypeContiguous = (byte)'7';
    public const byte TypePaxExtended = (byte)'x';
    public const byte TypePaxGlobal = (byte)'g';
    public const byte TypeGnuLongName = (byte)'L';
    public const byte TypeGnuLongLink = (byte)'K';
    public const byte TypeGnuSparse = (byte)'S';

    // Limits that keep a hostile archive from making us allocate or loop without bound.
    public const int MaxLongNameBytes = 64 * 1024;
    public const int MaxPaxHeaderBytes = 1024 * 1024;
    public const int MaxGlobalPaxRecords = 1024;
    public const int MaxSparseEntries = 1 << 18;
    public const int MaxEntries = 1 << 16;
    public const int MaxMetadataEntriesInARow = 16;

    /// <summary>1 PiB: no disk in an archive is larger.</summary>
    public const long MaxEntrySize = 1L << 50;
}
