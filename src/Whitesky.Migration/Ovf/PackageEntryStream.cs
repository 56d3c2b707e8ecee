using Microsoft.Win32.SafeHandles;

namespace Whitesky.Migration.Ovf;

/// <summary>A read-only stream over a range of a file (an entry of an OVA), read with positional I/O.</summary>
internal sealed class PackageEntryStream(SafeFileHandle handle, long start, long length, bool ownsHandle) : Stream
{
    private long _position;

    public override bool CanRead => true;
    public override bool CanSeek => true;
    public override bool CanWrite => false;
    public override long Length => length;

    public override long Position
    {
        get => _position;
        set => _position = value is >= 0 ? value : throw new ArgumentOutOfRangeException(nameof(value));
    }

    public override int Read(byte[] buffer, int offset, int count) => Read(buffer.AsSpan(offset, count));

    public override int Read(Span<byte> buffer)
    {
        var n = (int)Math.Min(buffer.Length, Math.Max(0, length - _position));
        if (n == 0)
        {
            return 0;
        }

        var read = RandomAccess.Read(handle, buffer[..n], start + _position);
        _position += read;
        return read;
    }

    public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
        ReadAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

    public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
    {
        var n = (int)Math.Min(buffer.Length, Math.Max(0, length - _position));
        if (n == 0)
        {
            return 0;
        }

        var read = await RandomAccess.ReadAsync(handle, buffer[..n], start + _position, cancellationToken).ConfigureAwait(false);
        _position += read;
        return read;
    }

    public override long Seek(long offset, SeekOrigin origin)
    {
        Position = origin switch
        {
            SeekOrigin.Begin => offset,
            SeekOrigin.Current => _position + offset,
            _ => length + offset,
        };
        return _position;
    }

    public override void Flush() { }
    public override void SetLength(long value) => throw new NotSupportedException();
    public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();

    protected override void Dispose(bool disposing)
    {
        if (disposing && ownsHandle)
        {
            handle.Dispose();
        }

        base.Dispose(disposing);
    }
}
