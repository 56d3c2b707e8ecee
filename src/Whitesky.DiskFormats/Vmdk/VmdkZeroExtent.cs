using System.Runtime.CompilerServices;

namespace Whitesky.DiskFormats.Vmdk;

/// <summary>A ZERO extent: no file, reads zeroes.</summary>
internal sealed class VmdkZeroExtent(long length) : IVmdkExtent
{
    public long Length { get; } = length;

    public long FileSize => 0;

    public ValueTask ReadAsync(long offset, Memory<byte> buffer, VmdkUnallocatedReader unallocated, CancellationToken cancellationToken)
    {
        buffer.Span.Clear();
        return ValueTask.CompletedTask;
    }

    public async IAsyncEnumerable<DiskExtent> GetExtentsAsync(long offset, long length, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        if (length > 0)
        {
            yield return new DiskExtent(offset, length, DiskExtentKind.Zero);
        }

        await Task.CompletedTask.ConfigureAwait(false);
    }

    public ValueTask DisposeAsync() => ValueTask.CompletedTask;
}
