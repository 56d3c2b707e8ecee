using System.IO.Compression;

namespace Whitesky.DiskFormats.Vma;

/// <summary>
/// vzdump compresses a whole archive (<c>.vma.gz</c>, <c>.vma.zst</c>, <c>.vma.lzo</c>): tells which from the first
/// bytes of a stream that may not seek, and decompresses gzip and zstd.
/// </summary>
internal static class VmaCompression
{
    private static ReadOnlySpan<byte> GzipMagic => [0x1F, 0x8B];

    private static ReadOnlySpan<byte> ZstdMagic => [0x28, 0xB5, 0x2F, 0xFD];

    private static ReadOnlySpan<byte> LzopMagic => [0x89, 0x4C, 0x5A, 0x4F];

    /// <summary>The decompressed archive and the compression's name (null when the stream is not compressed).</summary>
    public static async Task<(Stream Stream, string? Compression)> OpenAsync(Stream stream, string image, bool leaveOpen, CancellationToken cancellationToken)
    {
        var head = new byte[4];
        var read = await stream.ReadAtLeastAsync(head, head.Length, throwOnEndOfStream: false, cancellationToken).ConfigureAwait(false);
        var replayed = new ReplayStream(head.AsMemory(0, read), stream, leaveOpen);
        var magic = head.AsSpan(0, read);
        if (magic.StartsWith(GzipMagic))
        {
            return (new GZipStream(replayed, CompressionMode.Decompress, leaveOpen: false), "gzip");
        }

        if (magic.StartsWith(ZstdMagic))
        {
            return (new ZstdSharp.DecompressionStream(replayed, 0, checkEndOfStream: true, leaveOpen: false), "zstd");
        }

        if (magic.StartsWith(LzopMagic))
        {
            await replayed.DisposeAsync().ConfigureAwait(false);
            throw new DiskFormatException(image, "VMA archive", 0, "it is compressed with lzo, which this reader does not decompress (lzop -d it first, or back up with gzip or zstd)");
        }

        return (replayed, null);
    }

    /// <summary>Whether a decompressor failed on corrupt input.</summary>
    public static bool IsCorruptInput(Exception e) => e is InvalidDataException or ZstdSharp.ZstdException;

    /// <summary>Gives back the bytes read to probe, then the rest of the stream.</summary>
    private sealed class ReplayStream(ReadOnlyMemory<byte> head, Stream inner, bool leaveOpen) : Stream
    {
        private ReadOnlyMemory<byte> _head = head;

        public override bool CanRead => true;

        public override bool CanSeek => false;

        public override bool CanWrite => false;

        public override long Length => throw new NotSupportedException();

        public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }

        public override int Read(byte[] buffer, int offset, int count) => Read(buffer.AsSpan(offset, count));

        public override int Read(Span<byte> buffer)
        {
            if (TakeHead(buffer) is var taken and > 0)
            {
                return taken;
            }

            return inner.Read(buffer);
        }

        public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
            ReadAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

        public override ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
        {
            if (TakeHead(buffer.Span) is var taken and > 0)
            {
                return ValueTask.FromResult(taken);
            }

            return inner.ReadAsync(buffer, cancellationToken);
        }

        public override void Flush()
        {
        }

        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

        public override void SetLength(long value) => throw new NotSupportedException();

        public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();

        protected override void Dispose(bool disposing)
        {
            if (disposing && !leaveOpen)
            {
                inner.Dispose();
            }

            base.Dispose(disposing);
        }

        public override async ValueTask DisposeAsync()
        {
            if (!leaveOpen)
            {
                await inner.DisposeAsync().ConfigureAwait(false);
            }

            await base.DisposeAsync().ConfigureAwait(false);
        }

        private int TakeHead(Span<byte> buffer)
        {
            if (_head.IsEmpty || buffer.IsEmpty)
            {
                return 0;
            }

            var count = Math.Min(buffer.Length, _head.Length);
            _head.Span[..count].CopyTo(buffer);
            _head = _head[count..];
            return count;
        }
    }
}
