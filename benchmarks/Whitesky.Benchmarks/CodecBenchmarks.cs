using BenchmarkDotNet.Attributes;
using Whitesky.Nbd;
using Whitesky.Nbd.Protocol;

namespace Whitesky.Benchmarks;

/// <summary>The hot path of every request: encoding its header and decoding reply headers.</summary>
[MemoryDiagnoser]
public class CodecBenchmarks
{
    private readonly byte[] _request = new byte[NbdWire.RequestHeaderSize];
    private readonly byte[] _chunk = new byte[NbdWire.StructuredReplyHeaderSize];
    private readonly byte[] _simple = new byte[NbdWire.SimpleReplyHeaderSize];
    private ulong _cookie;

    [GlobalSetup]
    public void Setup()
    {
        NbdCodec.WriteChunk(_chunk, new NbdChunkHeader(NbdWire.NBD_REPLY_FLAG_DONE, NbdWire.NBD_REPLY_TYPE_OFFSET_DATA, 42, 2 * 1024 * 1024 + 8));
        NbdCodec.WriteSimpleReply(_simple, new NbdSimpleReplyHeader(0, 42));
    }

    [Benchmark]
    public void EncodeWriteRequest() =>
        NbdCodec.WriteRequest(_request, new NbdRequestHeader(NbdCommandFlags.None, NbdCommand.Write, ++_cookie, 1 << 30, 2 * 1024 * 1024));

    [Benchmark]
    public uint DecodeStructuredChunk() => NbdCodec.ReadChunk(_chunk).Length;

    [Benchmark]
    public ulong DecodeSimpleReply() => NbdCodec.ReadSimpleReply(_simple).Cookie;
}
