using System.Runtime.CompilerServices;

namespace Whitesky.DiskFormats.Vmdk;

/// <summary>A VMDK: its extents laid end to end, over an optional parent (a delta disk's base).</summary>
internal sealed class VmdkDisk : IVirtualDisk
{
    private readonly IVmdkExtent[] _extents;
    private readonly long[] _starts;
    private readonly IRandomAccessSource? _descriptorSource;
    private readonly string _name;
    private readonly string? _createType;
    private readonly IReadOnlyList<string> _features;

    public VmdkDisk(string name, string? createType, uint? cid, IVmdkExtent[] extents, IRandomAccessSource? descriptorSource, IReadOnlyList<string> features)
    {
        _name = name;
        _createType = createType;
        Cid = cid;
        _extents = extents;
        _descriptorSource = descriptorSource;
        _features = features;
        _starts = new long[extents.Length];
        long position = 0;
        for (var i = 0; i < extents.Length; i++)
        {
            _starts[i] = position;
            position = checked(position + extents[i].Length);
        }

        Capacity = position;
    }

    public long Capacity { get; }

    public int LogicalSectorSize => VmdkConstants.SectorSize;

    public IVirtualDisk? Parent { get; private set; }

    /// <summary>The content ID from the descriptor (a child records its parent's as parentCID).</summary>
    public uint? Cid { get; }

    public void SetParent(IVirtualDisk parent) => Parent = parent;

    public async ValueTask ReadAsync(long offset, Memory<byte> buffer, CancellationToken cancellationToken = default)
    {
        DiskRange.Check(this, offset, buffer.Length);
        var position = offset;
        var end = offset + buffer.Length;
        for (var i = FindExtent(offset); i < _extents.Length && position < end; i++)
        {
            var start = _starts[i];
            var count = Math.Min(end, start + _extents[i].Length) - position;
            if (count <= 0)
            {
                continue;
            }

            var target = buffer.Slice((int)(position - offset), (int)count);
            await _extents[i].ReadAsync(position - start, target, (o, b, t) => ReadUnallocatedAsync(start + o, b, t), cancellationToken).ConfigureAwait(false);
            position += count;
        }
    }

    public async IAsyncEnumerable<DiskExtent> GetExtentsAsync(long offset, long length, [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        DiskRange.Check(this, offset, length);
        var position = offset;
        var end = offset + length;
        for (var i = FindExtent(offset); i < _extents.Length && position < end; i++)
        {
            var start = _starts[i];
            var stop = Math.Min(end, start + _extents[i].Length);
            if (stop <= position)
            {
                continue;
            }

            await foreach (var extent in _extents[i].GetExtentsAsync(position - start, stop - position, cancellationToken).ConfigureAwait(false))
            {
                var absolute = extent with { Offset = extent.Offset + start };
                if (absolute.Kind != DiskExtentKind.Unallocated || Parent is null)
                {
                    yield return absolute;
                    continue;
                }

                await foreach (var p in ExtentRuns.ThroughParentAsync(Parent, absolute.Offset, absolute.Length, cancellationToken).ConfigureAwait(false))
                {
                    yield return p;
                }
            }

            position = stop;
        }
    }

    public DiskInfo Describe()
    {
        var sparse = _extents.OfType<VmdkSparseExtent>().FirstOrDefault();
        return new DiskInfo
        {
            Format = "vmdk",
            Subformat = _createType,
            Name = _name,
            VirtualSize = Capacity,
            FileSize = _extents.Sum(e => e.FileSize) + (_descriptorSource?.Length ?? 0),
            ClusterSize = sparse?.GrainBytes ?? _extents.OfType<VmdkSeSparseExtent>().FirstOrDefault()?.GrainBytes,
            Compression = sparse?.Header.Compressed == true ? "deflate" : null,
            Features = _features,
            Parent = Parent?.Describe(),
        };
    }

    public async ValueTask DisposeAsync()
    {
        foreach (var extent in _extents)
        {
            await extent.DisposeAsync().ConfigureAwait(false);
        }

        if (_descriptorSource is not null)
        {
            await _descriptorSource.DisposeAsync().ConfigureAwait(false);
        }

        if (Parent is not null)
        {
            await Parent.DisposeAsync().ConfigureAwait(false);
        }
    }

    private async ValueTask ReadUnallocatedAsync(long offset, Memory<byte> buffer, CancellationToken cancellationToken)
    {
        var fromParent = Parent is null ? 0 : (int)Math.Clamp(Parent.Capacity - offset, 0, buffer.Length);
        if (fromParent > 0)
        {
            await Parent!.ReadAsync(offset, buffer[..fromParent], cancellationToken).ConfigureAwait(false);
        }

        buffer.Span[fromParent..].Clear();
    }

    private int FindExtent(long offset)
    {
        var index = Array.BinarySearch(_starts, offset);
        return index >= 0 ? index : Math.Max(0, ~index - 1);
    }
}
