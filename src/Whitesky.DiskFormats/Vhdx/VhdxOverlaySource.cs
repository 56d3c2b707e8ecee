namespace Whitesky.DiskFormats.Vhdx;

/// <summary>
/// The image file as its replayed log says it is: 4 KiB pages from the log (bytes, or zeroes for null) over the
/// file, which is never written. Past the file's end (up to the log's last file offset) it reads zeroes.
/// </summary>
internal sealed class VhdxOverlaySource(IRandomAccessSource inner, IReadOnlyDictionary<long, byte[]?> pages, long length) : IRandomAccessSource
{
    public long Length => length;

    public string Name => inner.Name;

    /// <summary>How many pages the log changed.</summary>
    public int PageCount => pages.Count;

    public async ValueTask<int> ReadAsync(long offset, Memory<byte> buffer, CancellationToken cancellationToken = default)
    {
        if (offset >= length || buffer.Length == 0)
        {
            return 0;
        }

        var count = (int)Math.Min(buffer.Length, length - offset);
        var target = buffer[..count];
        var fromFile = (int)Math.Clamp(inner.Length - offset, 0, count);
        var got = fromFile > 0 ? await inner.ReadAsync(offset, target[..fromFile], cancellationToken).ConfigureAwait(false) : 0;
        target[got..].Span.Clear();

        var end = offset + count;
        for (var page = offset & ~(long)(VhdxSpec.LogSectorSize - 1); page < end; page += VhdxSpec.LogSectorSize)
        {
            if (!pages.TryGetValue(page, out var bytes))
            {
                continue;
            }

            var from = Math.Max(page, offset);
            var to = Math.Min(page + VhdxSpec.LogSectorSize, end);
            var slice = target.Span.Slice((int)(from - offset), (int)(to - from));
            if (bytes is null)
            {
                slice.Clear();
            }
            else
            {
                bytes.AsSpan((int)(from - page), (int)(to - from)).CopyTo(slice);
            }
        }

        return count;
    }

    /// <summary>The file is the disk's to dispose, not the overlay's.</summary>
    public ValueTask DisposeAsync() => ValueTask.CompletedTask;
}
