using System.Buffers;

namespace Whitesky.DiskFormats.Containers;

/// <summary>
/// A forward-only read stream over another stream that can look ahead (to probe magic numbers on a pipe) and
/// counts the bytes consumed, so errors can name an offset. Skipping seeks when the inner stream can.
/// </summary>
internal sealed class PeekStream : Stream
{
    private readonly Stream _inner;
    private readonly bool _ownsInner;
    private byte[] _ahead = [];
    private int _aheadStart;
    private int _aheadEnd;

    public PeekStream(Stream inner, string name, bool ownsInner, string? decoder = null)
    {
        _inner = inner;
        Name = name;
        _ownsInner = ownsInner;
        _decoder = decoder;
    }

    private readonly string? _decoder;

    /// <summary>A name for messages.</summary>
    public string Name { get; }

    /// <summary>Bytes consumed so far (peeked bytes not counted).</summary>
    public long Consumed { get; private set; }

    public override bool CanRead => true;
    public override bool CanSeek => false;
    public override bool CanWrite => false;
    public override long Length => throw new NotSupportedException();
    public override long Position { get => Consumed; set => throw new NotSupportedException(); }

    /// <summary>The inner stream's length when it can seek, else null.</summary>
    public long? InnerRemaining => _inner.CanSeek ? _inner.Length - _inner.Position + (_aheadEnd - _aheadStart) : null;

    /// <summary>Up to <paramref name="count"/> bytes ahead, without consuming them; fewer only at the end of the stream.</summary>
    public async ValueTask<ReadOnlyMemory<byte>> PeekAsync(int count, CancellationToken cancellationToken)
    {
        if (_aheadEnd - _aheadStart < count)
        {
            var buffer = new byte[Math.Max(count, _ahead.Length)];
            var have = _aheadEnd - _aheadStart;
            _ahead.AsSpan(_aheadStart, have).CopyTo(buffer);
            while (have < count)
            {
                var read = await InnerReadAsync(buffer.AsMemory(have, count - have), cancellationToken).ConfigureAwait(false);
                if (read == 0)
                {
                    break;
                }

                have += read;
            }

            _ahead = buffer;
            _aheadStart = 0;
            _aheadEnd = have;
        }

        return _ahead.AsMemory(_aheadStart, Math.Min(count, _aheadEnd - _aheadStart));
    }

    public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
    {
        int read;
        if (_aheadEnd > _aheadStart)
        {
            read = Math.Min(buffer.Length, _aheadEnd - _aheadStart);
            _ahead.AsMemory(_aheadStart, read).CopyTo(buffer);
            _aheadStart += read;
        }
        else
        {
            read = await InnerReadAsync(buffer, cancellationToken).ConfigureAwait(false);
        }

        Consumed += read;
        return read;
    }

    public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
        ReadAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

    public override int Read(byte[] buffer, int offset, int count) => Read(buffer.AsSpan(offset, count));

    public override int Read(Span<byte> buffer)
    {
        int read;
        if (_aheadEnd > _aheadStart)
        {
            read = Math.Min(buffer.Length, _aheadEnd - _aheadStart);
            _ahead.AsSpan(_aheadStart, read).CopyTo(buffer);
            _aheadStart += read;
        }
        else
        {
            try
            {
                read = _inner.Read(buffer);
            }
            catch (Exception e) when (_decoder is not null && IsDecoderError(e))
            {
                throw DecoderError(e);
            }
        }

        Consumed += read;
        return read;
    }

    /// <summary>Fills <paramref name="buffer"/>; returns fewer bytes only at the end of the stream.</summary>
    public async ValueTask<int> ReadFullAsync(Memory<byte> buffer, CancellationToken cancellationToken)
    {
        var total = 0;
        while (total < buffer.Length)
        {
            var read = await ReadAsync(buffer[total..], cancellationToken).ConfigureAwait(false);
            if (read == 0)
            {
                break;
            }

            total += read;
        }

        return total;
    }

    /// <summary>Fills <paramref name="buffer"/> or throws naming <paramref name="structure"/> when the stream ends first.</summary>
    public async ValueTask ReadExactAsync(Memory<byte> buffer, string structure, CancellationToken cancellationToken)
    {
        var start = Consumed;
        if (await ReadFullAsync(buffer, cancellationToken).ConfigureAwait(false) < buffer.Length)
        {
            throw new DiskFormatException(Name, structure, start, $"the stream ended inside it ({buffer.Length} bytes expected)");
        }
    }

    /// <summary>Consumes <paramref name="count"/> bytes; throws naming <paramref name="structure"/> when the stream ends first.</summary>
    public async ValueTask SkipAsync(long count, string structure, CancellationToken cancellationToken)
    {
        var start = Consumed;
        var buffered = Math.Min(count, _aheadEnd - _aheadStart);
        _aheadStart += (int)buffered;
        Consumed += buffered;
        count -= buffered;
        if (count == 0)
        {
            return;
        }

        if (_inner.CanSeek)
        {
            if (_inner.Length - _inner.Position < count)
            {
                throw new DiskFormatException(Name, structure, start, $"the stream ends before its {count} bytes");
            }

            _inner.Seek(count, SeekOrigin.Current);
            Consumed += count;
            return;
        }

        var scratch = ArrayPool<byte>.Shared.Rent((int)Math.Min(count, 256 * 1024));
        try
        {
            while (count > 0)
            {
                var read = await ReadAsync(scratch.AsMemory(0, (int)Math.Min(count, scratch.Length)), cancellationToken).ConfigureAwait(false);
                if (read == 0)
                {
                    throw new DiskFormatException(Name, structure, start, $"the stream ended inside it ({count} bytes short)");
                }

                count -= read;
            }
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(scratch);
        }
    }

    private async ValueTask<int> InnerReadAsync(Memory<byte> buffer, CancellationToken cancellationToken)
    {
        try
        {
            return await _inner.ReadAsync(buffer, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception e) when (_decoder is not null && IsDecoderError(e))
        {
            throw DecoderError(e);
        }
    }

    private static bool IsDecoderError(Exception e) =>
        e is InvalidDataException or ZstdSharp.ZstdException or SharpCompress.Common.SharpCompressException or EndOfStreamException;

    private DiskFormatException DecoderError(Exception e) =>
        new(string.Create(System.Globalization.CultureInfo.InvariantCulture, $"{Name}: {_decoder} stream after {Consumed} decompressed bytes: it is corrupt or truncated ({e.Message})"), e);

    public override void Flush() { }
    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
    public override void SetLength(long value) => throw new NotSupportedException();
    public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();

    protected override void Dispose(bool disposing)
    {
        if (disposing && _ownsInner)
        {
            _inner.Dispose();
        }

        base.Dispose(disposing);
    }

    public override async ValueTask DisposeAsync()
    {
        if (_ownsInner)
        {
            await _inner.DisposeAsync().ConfigureAwait(false);
        }

        await base.DisposeAsync().ConfigureAwait(false);
    }
}
