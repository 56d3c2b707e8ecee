namespace Whitesky.Nbd;

/// <summary>NBD transmission commands (<c>NBD_CMD_*</c>).</summary>
public enum NbdCommand : ushort
{
    /// <summary><c>NBD_CMD_READ</c>.</summary>
    Read = 0,
    /// <summary><c>NBD_CMD_WRITE</c>.</summary>
    Write = 1,
    /// <summary><c>NBD_CMD_DISC</c>: orderly disconnect.</summary>
    Disconnect = 2,
    /// <summary><c>NBD_CMD_FLUSH</c>.</summary>
    Flush = 3,
    /// <summary><c>NBD_CMD_TRIM</c>.</summary>
    Trim = 4,
    /// <summary><c>NBD_CMD_CACHE</c>.</summary>
    Cache = 5,
    /// <summary><c>NBD_CMD_WRITE_ZEROES</c>.</summary>
    WriteZeroes = 6,
    /// <summary><c>NBD_CMD_BLOCK_STATUS</c>.</summary>
    BlockStatus = 7,
    /// <summary><c>NBD_CMD_RESIZE</c>.</summary>
    Resize = 8,
}

/// <summary>Command flags (<c>NBD_CMD_FLAG_*</c>).</summary>
[Flags]
public enum NbdCommandFlags : ushort
{
    /// <summary>No flags.</summary>
    None = 0,
    /// <summary><c>NBD_CMD_FLAG_FUA</c>: the write reaches stable storage before the reply.</summary>
    Fua = 1 << 0,
    /// <summary><c>NBD_CMD_FLAG_NO_HOLE</c>: write zeroes must allocate, not punch a hole.</summary>
    NoHole = 1 << 1,
    /// <summary><c>NBD_CMD_FLAG_DF</c>: a structured read reply in one chunk.</summary>
    DontFragment = 1 << 2,
    /// <summary><c>NBD_CMD_FLAG_REQ_ONE</c>: block status with one descriptor per context.</summary>
    RequestOne = 1 << 3,
    /// <summary><c>NBD_CMD_FLAG_FAST_ZERO</c>: fail write zeroes with <c>ENOTSUP</c> unless it is fast.</summary>
    FastZero = 1 << 4,
    /// <summary><c>NBD_CMD_FLAG_PAYLOAD_LEN</c> (extended headers only).</summary>
    PayloadLength = 1 << 5,
}

/// <summary>Export transmission flags (<c>NBD_FLAG_*</c>) sent by the server with the export size.</summary>
[Flags]
public enum NbdTransmissionFlags : ushort
{
    /// <summary>No flags.</summary>
    None = 0,
    /// <summary><c>NBD_FLAG_HAS_FLAGS</c>.</summary>
    HasFlags = 1 << 0,
    /// <summary><c>NBD_FLAG_READ_ONLY</c>.</summary>
    ReadOnly = 1 << 1,
    /// <summary><c>NBD_FLAG_SEND_FLUSH</c>.</summary>
    SendFlush = 1 << 2,
    /// <summary><c>NBD_FLAG_SEND_FUA</c>.</summary>
    SendFua = 1 << 3,
    /// <summary><c>NBD_FLAG_ROTATIONAL</c>.</summary>
    Rotational = 1 << 4,
    /// <summary><c>NBD_FLAG_SEND_TRIM</c>.</summary>
    SendTrim = 1 << 5,
    /// <summary><c>NBD_FLAG_SEND_WRITE_ZEROES</c>.</summary>
    SendWriteZeroes = 1 << 6,
    /// <summary><c>NBD_FLAG_SEND_DF</c>.</summary>
    SendDf = 1 << 7,
    /// <summary><c>NBD_FLAG_CAN_MULTI_CONN</c>: flush on one connection covers all connections.</summary>
    CanMultiConn = 1 << 8,
    /// <summary><c>NBD_FLAG_SEND_RESIZE</c>.</summary>
    SendResize = 1 << 9,
    /// <summary><c>NBD_FLAG_SEND_CACHE</c>.</summary>
    SendCache = 1 << 10,
    /// <summary><c>NBD_FLAG_SEND_FAST_ZERO</c>.</summary>
    SendFastZero = 1 << 11,
    /// <summary><c>NBD_FLAG_BLOCK_STAT_PAYLOAD</c>.</summary>
    BlockStatusPayload = 1 << 12,
}
