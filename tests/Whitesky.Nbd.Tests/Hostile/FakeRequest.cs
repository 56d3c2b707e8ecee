namespace Whitesky.Nbd.Tests.Hostile;

/// <summary>A transmission request as the fake server parsed it off the wire.</summary>
public sealed record FakeRequest(ushort Flags, ushort Type, ulong Cookie, ulong Offset, uint Length, byte[] Payload)
{
    public NbdCommand Command => (NbdCommand)Type;
}
