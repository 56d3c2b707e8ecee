using System.Runtime.CompilerServices;

namespace Whitesky.DiskFormats.Vma;

/// <summary>
/// One device of an indexed VMA archive: present 4 KiB blocks are data, blocks the mask leaves out are zero, and
/// clusters the archive never stored (only vmstate may lack some) are unallocated.
/// </summary>
internal sealed class VmaDisk : IVirtualDisk
{
    private readonly IRandomAccessSource _source;
    private readonly bool _ownsSource;
    private readonly VmaDevice _device;
    private readonly VmaIndexEntry[] _entries;

    public VmaDisk(IRandomAccessSource source, bool ownsSource, VmaDevice device, VmaIndexEntry[] entries)
    {
        _source = source;
        _ownsSource = ownsSource;
        _device = device;
        _entries = entries;
    }

    public long Capacity => _device.Size;

    public int LogicalSectorSize => 512;

    public IVirtualDisk? Parent => null;

    public DiskInfo Describe() => VmaArchive.DescribeDevice(_source.Name, _device, _source.Length, null);

    public async ValueTask ReadAsync(long offset, Memory<byte> buffer, CancellationToken cancellationToken = default)
    {
        DiskRange.Check(this, offset, buffer.Length);
        var done = 0;
        while (done < buffer.Length)
        {
            var position = offset + done;
            var cluster = (uint)(position >> VmaSpec.ClusterBits);
            var clusterEnd = ((long)cluster + 1) << VmaSpec.ClusterBits;
            var index = Find(cluster);
            if (index < 0)
            {
                var length = (int)Math.Min(buffer.Length - done, clusterEnd - position);
                buffer.Span.Slice(done, length).Clear();
                done += length;
                continue;
            }

            var entry = _entries[index];
            var block = (int)((position >> 12) & (VmaSpec.BlocksPerCluster - 1));
            var present = entry.Has(block);
            var last = block;
            while (last + 1 < VmaSpec.BlocksPerCluster && entry.Has(last + 1) == present)
            {
                last++;
            }

            var runEnd = ((long)cluster << VmaSpec.ClusterBits) + ((long)(last + 1) * VmaSpec.BlockSize);
            var count = (int)Math.Min(buffer.Length - done, runEnd - position);
            var target = buffer.Slice(done, count);
            if (!present)
            {
                target.Span.Clear();
            }
            else
            {
                var at = entry.BlockOffset(block) + (position & (VmaSpec.BlockSize - 1));
                var read = await _source.ReadAsync(at, target, cancellationToken).ConfigureAwait(false);
                if (read < count)
                {
                    throw new DiskFormatException(_source.Name, $"VMA cluster {cluster} of {_device.Name}", at + read, "the archive ended before the block did (it shrank while open?)");
                }
            }

            done += count;
        }
    }

    public async IAsyncEnumerable<DiskExtent> GetExtentsAsync(long offset, long length, [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        DiskRange.Check(this, offset, length);
        var end = offset + length;
        var pending = new DiskExtent(offset, 0, DiskExtentKind.Unallocated);
        var index = Find((uint)(offset >> VmaSpec.ClusterBits));
        index = index < 0 ? ~index : index;
        var position = offset;
        while (position < end)
        {
            cancellationToken.ThrowIfCancellationRequested();
            DiskExtent next;
            if (index >= _entries.Length || ((long)_entries[index].Cluster << VmaSpec.ClusterBits) >= end)
            {
                next = new DiskExtent(position, end - position, DiskExtentKind.Unallocated);
            }
            else
            {
                var entry = _entries[index];
                var clusterStart = (long)entry.Cluster << VmaSpec.ClusterBits;
                if (clusterStart > position)
                {
                    next = new DiskExtent(position, clusterStart - position, DiskExtentKind.Unallocated);
                }
                else
                {
                    var block = (int)((position - clusterStart) >> 12);
                    var present = entry.Has(block);
                    var last = block;
                    while (last + 1 < VmaSpec.BlocksPerCluster && entry.Has(last + 1) == present)
                    {
                        last++;
                    }

                    var runEnd = Math.Min(end, clusterStart + ((long)(last + 1) * VmaSpec.BlockSize));
                    next = new DiskExtent(position, runEnd - position, present ? DiskExtentKind.Data : DiskExtentKind.Zero);
                    if (last == VmaSpec.BlocksPerCluster - 1)
                    {
                        index++;
                    }
                }
            }

            if (next.Kind == pending.Kind && next.Offset == pending.End)
            {
                pending = pending with { Length = pending.Length + next.Length };
            }
            else
            {
                if (pending.Length > 0)
                {
                    yield return pending;
                }

                pending = next;
            }

            position = next.End;
        }

        if (pending.Length > 0)
        {
            yield return pending;
        }

        await Task.CompletedTask.ConfigureAwait(false);
    }

    public async ValueTask DisposeAsync()
    {
        if (_ownsSource)
        {
            await _source.DisposeAsync().ConfigureAwait(false);
        }
    }

    /// <summary>The index of <paramref name="cluster"/>'s entry, or the bitwise complement of where it would be.</summary>
    private int Find(uint cluster)
    {
        int low = 0, high = _entries.Length - 1;
        while (low <= high)
        {
            var middle = low + ((high - low) >> 1);
            var value = _entries[middle].Cluster;
            if (value == cluster)
            {
                return middle;
            }

            if (value < cluster)
            {
                low = middle + 1;
            }
            else
            {
                high = middle - 1;
            }
        }

        return ~low;
    }
}
