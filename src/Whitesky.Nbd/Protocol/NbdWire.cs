namespace Whitesky.Nbd.Protocol;

/// <summary>
/// Wire constants of the NBD protocol (shared/specs/nbd-protocol.md), named after the spec.
/// Every magic number, option, reply type and size the codec uses lives here and nowhere else.
/// </summary>
internal static class NbdWire
{
    // Handshake ------------------------------------------------------------------------------------
    public const ulong NBDMAGIC = 0x4e42444d41474943;          // "NBDMAGIC"
    public const ulong IHAVEOPT = 0x49484156454F5054;          // "IHAVEOPT"
    public const ulong OLD_STYLE_MAGIC = 0x00420281861253;     // oldstyle negotiation (refused)
    public const ulong OPTION_REPLY_MAGIC = 0x0003e889045565a9;

    public const ushort NBD_FLAG_FIXED_NEWSTYLE = 1 << 0;
    public const ushort NBD_FLAG_NO_ZEROES = 1 << 1;
    public const uint NBD_FLAG_C_FIXED_NEWSTYLE = 1 << 0;
    public const uint NBD_FLAG_C_NO_ZEROES = 1 << 1;

    // Options --------------------------------------------------------------------------------------
    public const uint NBD_OPT_EXPORT_NAME = 1;
    public const uint NBD_OPT_ABORT = 2;
    public const uint NBD_OPT_LIST = 3;
    public const uint NBD_OPT_STARTTLS = 5;
    public const uint NBD_OPT_INFO = 6;
    public const uint NBD_OPT_GO = 7;
    public const uint NBD_OPT_STRUCTURED_REPLY = 8;
    public const uint NBD_OPT_LIST_META_CONTEXT = 9;
    public const uint NBD_OPT_SET_META_CONTEXT = 10;
    public const uint NBD_OPT_EXTENDED_HEADERS = 11;

    // Option replies -------------------------------------------------------------------------------
    public const uint NBD_REP_ACK = 1;
    public const uint NBD_REP_SERVER = 2;
    public const uint NBD_REP_INFO = 3;
    public const uint NBD_REP_META_CONTEXT = 4;
    public const uint NBD_REP_FLAG_ERROR = 1u << 31;
    public const uint NBD_REP_ERR_UNSUP = NBD_REP_FLAG_ERROR | 1;
    public const uint NBD_REP_ERR_POLICY = NBD_REP_FLAG_ERROR | 2;
    public const uint NBD_REP_ERR_INVALID = NBD_REP_FLAG_ERROR | 3;
    public const uint NBD_REP_ERR_PLATFORM = NBD_REP_FLAG_ERROR | 4;
    public const uint NBD_REP_ERR_TLS_REQD = NBD_REP_FLAG_ERROR | 5;
    public const uint NBD_REP_ERR_UNKNOWN = NBD_REP_FLAG_ERROR | 6;
    public const uint NBD_REP_ERR_SHUTDOWN = NBD_REP_FLAG_ERROR | 7;
    public const uint NBD_REP_ERR_BLOCK_SIZE_REQD = NBD_REP_FLAG_ERROR | 8;
    public const uint NBD_REP_ERR_TOO_BIG = NBD_REP_FLAG_ERROR | 9;
    public const uint NBD_REP_ERR_EXT_HEADER_REQD = NBD_REP_FLAG_ERROR | 10;

    // NBD_INFO_* (inside NBD_REP_INFO) -------------------------------------------------------------
    public const ushort NBD_INFO_EXPORT = 0;
    public const ushort NBD_INFO_NAME = 1;
    public const ushort NBD_INFO_DESCRIPTION = 2;
    public const ushort NBD_INFO_BLOCK_SIZE = 3;

    // Transmission ---------------------------------------------------------------------------------
    public const uint NBD_REQUEST_MAGIC = 0x25609513;
    public const uint NBD_SIMPLE_REPLY_MAGIC = 0x67446698;
    public const uint NBD_STRUCTURED_REPLY_MAGIC = 0x668e33ef;
    public const uint NBD_EXTENDED_REPLY_MAGIC = 0x6e8a278c;

    public const ushort NBD_REPLY_FLAG_DONE = 1 << 0;
    public const ushort NBD_REPLY_TYPE_NONE = 0;
    public const ushort NBD_REPLY_TYPE_OFFSET_DATA = 1;
    public const ushort NBD_REPLY_TYPE_OFFSET_HOLE = 2;
    public const ushort NBD_REPLY_TYPE_BLOCK_STATUS = 5;
    public const ushort NBD_REPLY_TYPE_BLOCK_STATUS_EXT = 6;
    public const ushort NBD_REPLY_TYPE_ERROR_BIT = 1 << 15;
    public const ushort NBD_REPLY_TYPE_ERROR = NBD_REPLY_TYPE_ERROR_BIT | 1;
    public const ushort NBD_REPLY_TYPE_ERROR_OFFSET = NBD_REPLY_TYPE_ERROR_BIT | 2;

    // Sizes ----------------------------------------------------------------------------------------
    public const int RequestHeaderSize = 28;
    public const int SimpleReplyHeaderSize = 16;
    public const int StructuredReplyHeaderSize = 20;
    public const int OptionHeaderSize = 16;
    public const int OptionReplyHeaderSize = 20;

    /// <summary>The spec's limit on strings (export names, context names, error messages).</summary>
    public const int MaxStringLength = 4096;

    /// <summary>Request length when the server names no maximum block size (spec: 32 MiB).</summary>
    public const int DefaultMaxPayload = 32 * 1024 * 1024;

    /// <summary>Default TCP port assigned by IANA.</summary>
    public const int DefaultPort = 10809;

    public const string BaseAllocationContext = "base:allocation";
    public const string QemuDirtyBitmapPrefix = "qemu:dirty-bitmap:";
}
