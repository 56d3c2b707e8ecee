namespace Whitesky.Nbd;

/// <summary>What the server says about an export: size, flags, block-size constraints and negotiated contexts.</summary>
public sealed record NbdExportInfo
{
    /// <summary>The export name as requested.</summary>
    public required string Name { get; init; }

    /// <summary>The server's description of the export (<c>NBD_INFO_DESCRIPTION</c>), if it sent one.</summary>
    public string? Description { get; init; }

    /// <summary>Size of the export in bytes.</summary>
    public required long Size { get; init; }

    /// <summary>The transmission flags.</summary>
    public required NbdTransmissionFlags Flags { get; init; }

    /// <summary>Minimum block size: requests are aligned to it (1 when the server names none).</summary>
    public int MinimumBlockSize { get; init; } = 1;

    /// <summary>Preferred block size (4096 when the server names none).</summary>
    public int PreferredBlockSize { get; init; } = 4096;

    /// <summary>Largest READ/WRITE payload the server accepts (32 MiB when the server names none).</summary>
    public int MaximumPayloadSize { get; init; } = 32 * 1024 * 1024;

    /// <summary>Whether the server sent <c>NBD_INFO_BLOCK_SIZE</c>.</summary>
    public bool BlockSizeAdvertised { get; init; }

    /// <summary>Whether structured replies were negotiated.</summary>
    public bool StructuredReplies { get; init; }

    /// <summary>The meta contexts the server agreed to (for block status).</summary>
    public IReadOnlyList<string> MetaContexts { get; init; } = [];

    /// <summary>Whether the connection is encrypted, and how (<c>TLS-PSK</c>, <c>X.509</c>), or null.</summary>
    public string? Tls { get; init; }

    /// <summary><c>NBD_FLAG_READ_ONLY</c>.</summary>
    public bool IsReadOnly => Flags.HasFlag(NbdTransmissionFlags.ReadOnly);
    /// <summary><c>NBD_FLAG_SEND_FLUSH</c>.</summary>
    public bool CanFlush => Flags.HasFlag(NbdTransmissionFlags.SendFlush);
    /// <summary><c>NBD_FLAG_SEND_FUA</c>.</summary>
    public bool CanFua => Flags.HasFlag(NbdTransmissionFlags.SendFua);
    /// <summary><c>NBD_FLAG_SEND_TRIM</c>.</summary>
    public bool CanTrim => Flags.HasFlag(NbdTransmissionFlags.SendTrim);
    /// <summary><c>NBD_FLAG_SEND_WRITE_ZEROES</c>.</summary>
    public bool CanWriteZeroes => Flags.HasFlag(NbdTransmissionFlags.SendWriteZeroes);
    /// <summary><c>NBD_FLAG_SEND_FAST_ZERO</c>.</summary>
    public bool CanFastZero => Flags.HasFlag(NbdTransmissionFlags.SendFastZero);
    /// <summary><c>NBD_FLAG_SEND_CACHE</c>.</summary>
    public bool CanCache => Flags.HasFlag(NbdTransmissionFlags.SendCache);
    /// <summary><c>NBD_FLAG_CAN_MULTI_CONN</c>.</summary>
    public bool CanMultiConn => Flags.HasFlag(NbdTransmissionFlags.CanMultiConn);
    /// <summary><c>NBD_FLAG_SEND_DF</c>.</summary>
    public bool CanDontFragment => Flags.HasFlag(NbdTransmissionFlags.SendDf);
    /// <summary><c>NBD_FLAG_ROTATIONAL</c>.</summary>
    public bool IsRotational => Flags.HasFlag(NbdTransmissionFlags.Rotational);
}

/// <summary>One entry of the server's export list (<c>NBD_OPT_LIST</c>).</summary>
/// <param name="Name">The export name.</param>
/// <param name="Description">The server's description, or empty.</param>
public sealed record NbdExportListing(string Name, string Description);
