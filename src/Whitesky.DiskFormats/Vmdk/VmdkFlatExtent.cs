using System.Runtime.CompilerServices;

namespace Whitesky.DiskFormats.Vmdk;

/// <summary>A FLAT or VMFS extent: the data as is, from an offset of its file.</summary>
internal sealed class VmdkFlatExtent : IVmdkExtent
{
    private readonly IRandomAccessSource _source;
    private readonly long _fileOffset;

    public VmdkFlatExtent(IRandomAccessSource source, long fileOffset, long length, string descriptor, int line)
    {
        if (fileOffset > source.Length || length > source.Length - fileOffset)
        {
            throw new DiskFormatException(descriptor, $"extent line {line}", fileOffset,
                $"the flat extent '{source.Name}' holds {source.Length} bytes, less than its offset {fileOffset} plus its size {length}");
        }

        _source = source;
        _fileOffset = fileOffset;
        Length = length;
    }

    public long Length { get; }

    public long FileSize => _source.Length;

    public async ValueTask ReadAsync(long offset, Memory<byte> buffer, VmdkUnallocatedReader unallocated, CancellationToken cancellationToken)
    {
        var read = await _source.ReadAsync(_fileOffset + offset, buffer, cancellationToken).ConfigureAwait(false);
        if (read < buffer.Length)
        {
            throw new DiskFormatException(_source.Name, "flat extent data", _fileOffset + offset + read, "the file ended before the extent did (it shrank while open?)");
        }
    }

    /// <remarks>
    /// A flat extent is allocated as a whole as far as the format says (qemu-img map agrees); the file system's
    /// holes are the file's business, not the disk's.
    /// </remarks>
    public async IAsyncEnumerable<DiskExtent> GetExtentsAsync(long offset, long length, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        if (length > 0)
        {
            yield return new DiskExtent(offset, length, DiskExtentKind.Data);
        }

        await Task.CompletedTask.ConfigureAwait(false);
    }

    public ValueTask DisposeAsync() => _source.DisposeAsync();
}
