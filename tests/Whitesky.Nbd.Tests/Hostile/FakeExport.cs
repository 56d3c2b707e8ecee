namespace Whitesky.Nbd.Tests.Hostile;

/// <summary>What the fake server's valid handshake announces. Block sizes are sent as given, unchecked, so a test can send illegal ones.</summary>
public sealed record FakeExport
{
    /// <summary>HAS_FLAGS | SEND_FLUSH | SEND_FUA | SEND_TRIM | SEND_WRITE_ZEROES.</summary>
    public const ushort DefaultFlags = 1 | 4 | 8 | 32 | 64;

    public long Size { get; init; } = 1024 * 1024;

    public ushort Flags { get; init; } = DefaultFlags;

    public uint MinimumBlockSize { get; init; } = 512;

    public uint PreferredBlockSize { get; init; } = 4096;

    public uint MaximumPayloadSize { get; init; } = 1024 * 1024;

    /// <summary>The id the server gives <c>base:allocation</c>; deliberately not 0 or 1, so a client that ignores ids is caught.</summary>
    public uint BaseAllocationId { get; init; } = 0x2A;

    public bool StructuredReplies { get; init; } = true;
}
