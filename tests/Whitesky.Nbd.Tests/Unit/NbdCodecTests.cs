using Whitesky.Nbd.Protocol;

namespace Whitesky.Nbd.Tests.Unit;

public class NbdCodecTests
{
    [Fact]
    public void Request_header_has_the_spec_layout()
    {
        var buffer = new byte[NbdWire.RequestHeaderSize];
        NbdCodec.WriteRequest(buffer, new NbdRequestHeader(NbdCommandFlags.Fua | NbdCommandFlags.NoHole, NbdCommand.WriteZeroes,
            0x0102030405060708, 0x1122334455667788, 0x99AABBCC));
        Assert.Equal(Convert.FromHexString("25609513" + "0003" + "0006" + "0102030405060708" + "1122334455667788" + "99AABBCC"), buffer);

        Assert.True(NbdCodec.TryReadRequest(buffer, out var decoded));
        Assert.Equal(NbdCommand.WriteZeroes, decoded.Command);
        Assert.Equal(0x99AABBCCu, decoded.Length);
        buffer[0] ^= 0xFF;
        Assert.False(NbdCodec.TryReadRequest(buffer, out _));
    }

    [Fact]
    public void Reply_headers_round_trip()
    {
        var simple = new byte[NbdWire.SimpleReplyHeaderSize];
        NbdCodec.WriteSimpleReply(simple, new NbdSimpleReplyHeader(5, 42));
        Assert.Equal(Convert.FromHexString("67446698" + "00000005" + "000000000000002A"), simple);
        Assert.Equal(new NbdSimpleReplyHeader(5, 42), NbdCodec.ReadSimpleReply(simple));

        var chunk = new byte[NbdWire.StructuredReplyHeaderSize];
        NbdCodec.WriteChunk(chunk, new NbdChunkHeader(NbdWire.NBD_REPLY_FLAG_DONE, NbdWire.NBD_REPLY_TYPE_OFFSET_DATA, 7, 4104));
        Assert.Equal(Convert.FromHexString("668E33EF" + "0001" + "0001" + "0000000000000007" + "00001008"), chunk);
        var decoded = NbdCodec.ReadChunk(chunk);
        Assert.True(decoded.IsDone);
        Assert.Equal(4104u, decoded.Length);
    }

    [Fact]
    public void Errno_names_are_the_spec_names()
    {
        var ex = new NbdException(NbdError.ENOSPC, NbdCommand.Write, 4096, 512, "disk full");
        Assert.Equal("ENOSPC", ex.ErrorName);
        Assert.Contains("WRITE at offset 4096 length 512: ENOSPC (disk full)", ex.Message, StringComparison.Ordinal);
        Assert.Equal("E#99", NbdException.NameOf((NbdError)99));
    }
}
