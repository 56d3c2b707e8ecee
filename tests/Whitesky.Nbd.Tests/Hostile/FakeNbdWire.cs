namespace Whitesky.Nbd.Tests.Hostile;

/// <summary>
/// NBD wire constants for the fake server, typed in again from shared/specs/nbd-protocol.md rather than
/// borrowed from the client's <c>NbdWire</c>: a wrong constant in the client must not be able to hide
/// behind the same wrong constant in its test peer.
/// </summary>
public static class FakeNbdWire
{
    public const ulong NBDMAGIC = 0x4e42444d41474943;
    public const ulong IHAVEOPT = 0x49484156454F5054;
    public const ulong OldStyleMagic = 0x00420281861253;
    public const ulong OptionReplyMagic = 0x0003e889045565a9;

    public const ushort FlagFixedNewstyle = 1;
    public const ushort FlagNoZeroes = 2;

    public const uint OptAbort = 2;
    public const uint OptStartTls = 5;
    public const uint OptInfo = 6;
    public const uint OptGo = 7;
    public const uint OptStructuredReply = 8;
    public const uint OptListMetaContext = 9;
    public const uint OptSetMetaContext = 10;

    public const uint RepAck = 1;
    public const uint RepInfo = 3;
    public const uint RepMetaContext = 4;
    public const uint RepErrUnsup = 0x80000001;
    public const uint RepErrUnknown = 0x80000006;

    public const ushort InfoExport = 0;
    public const ushort InfoBlockSize = 3;

    public const uint RequestMagic = 0x25609513;
    public const uint SimpleReplyMagic = 0x67446698;
    public const uint StructuredReplyMagic = 0x668e33ef;

    public const ushort ReplyFlagDone = 1;
    public const ushort ReplyTypeNone = 0;
    public const ushort ReplyTypeOffsetData = 1;
    public const ushort ReplyTypeOffsetHole = 2;
    public const ushort ReplyTypeBlockStatus = 5;
    public const ushort ReplyTypeError = 0x8001;
    public const ushort ReplyTypeErrorOffset = 0x8002;

    public const ushort CmdRead = 0;
    public const ushort CmdWrite = 1;
    public const ushort CmdDisconnect = 2;

    public const uint EIO = 5;
    public const uint ENOSPC = 28;
}
