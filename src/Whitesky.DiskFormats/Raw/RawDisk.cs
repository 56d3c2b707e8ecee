using System.Runtime.CompilerServices;

namespace Whitesky.DiskFormats.Raw;

/// <summary>A raw image: byte for byte the disk. Allocation comes from the file system's holes where it knows them.</summary>
internal sealed class RawDisk : IVirtualDisk
{
    private readonly IRandomAccessSource _source;
    private readonly bool _ownsSource;

    public RawDisk(IRandomAccessSource source, bool ownsSource)
    {
        _source = source;
        _ownsSource = ownsSource;
    }

    public long Capacity => _source.Length;

    public int LogicalSectorSize => 512;

    public IVirtualDisk? Parent => null;

    public async ValueTask ReadAsync(long offset, Memory<byte> buffer, CancellationToken cancellationToken = default)
    {
        DiskRange.Check(this, offset, buffer.Length);
        var read = await _source.ReadAsync(offset, buffer, cancellationToken).ConfigureAwait(false);
        if (read < buffer.Length)
        {
            throw new DiskFormatException(_source.Name, "raw data", offset + read, "the file ended before the disk did (it shrank while open?)");
        }
    }

    public async IAsyncEnumerable<DiskExtent> GetExtentsAsync(long offset, long length, [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        DiskRange.Check(this, offset, length);
        var end = offset + length;
        Func<long, (long Start, long End)?>? nextData = _source switch
        {
            FileSource file => position => FileAllocation.NextData(file.Handle, position, Capacity),
            ISparseSource sparse => sparse.NextData,
            _ => null,
        };
        if (nextData is null)
        {
            if (length > 0)
            {
                yield return new DiskExtent(offset, length, DiskExtentKind.Data);
            }

            yield break;
        }

        foreach (var (start, stop, isData) in FileAllocation.Runs(nextData, offset, end))
        {
            cancellationToken.ThrowIfCancellationRequested();
            yield return new DiskExtent(start, stop - start, isData ? DiskExtentKind.Data : DiskExtentKind.Unallocated);
        }

        await Task.CompletedTask.ConfigureAwait(false);
    }

    public DiskInfo Describe() => new()
    {
        Format = "raw",
        Name = _source.Name,
        VirtualSize = Capacity,
        FileSize = _source.Length,
    };

    public async ValueTask DisposeAsync()
    {
        if (_ownsSource)
        {
            await _source.DisposeAsync().ConfigureAwait(false);
        }
    }
}
