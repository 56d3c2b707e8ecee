namespace Whitesky.DiskFormats.Tests.Containers;

/// <summary>
/// A stream that behaves like a pipe: it cannot seek or tell its length, and each read returns an arbitrary
/// (seeded) number of bytes, so parsers meet every boundary split. Counts the bytes handed out.
/// </summary>
internal sealed class PipeStream(Stream inner, int seed = 1) : Stream
{
    private readonly Random _random = new(seed);

    public long BytesRead { get; private set; }

    public override bool CanRead => true;
    public override bool CanSeek => false;
    public override bool CanWrite => false;
    public override long Length => throw new NotSupportedException();
    public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }

    public override int Read(byte[] buffer, int offset, int count) => Read(buffer.AsSpan(offset, count));

    public override int Read(Span<byte> buffer)
    {
        var read = inner.Read(buffer[..Limit(buffer.Length)]);
        BytesRead += read;
        return read;
    }

    public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
    {
        var read = await inner.ReadAsync(buffer[..Limit(buffer.Length)], cancellationToken);
        BytesRead += read;
        return read;
    }

    public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
        ReadAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

    private int Limit(int length) => length <= 1 ? length : Math.Min(length, _random.Next(1, 3) == 1 ? _random.Next(1, 700) : _random.Next(1, 256 * 1024));

    public override void Flush() { }
    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
    public override void SetLength(long value) => throw new NotSupportedException();
    public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();

    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            inner.Dispose();
        }

        base.Dispose(disposing);
    }

    public static PipeStream OpenFile(string path, int seed = 1) => new(File.OpenRead(path), seed);
}
