namespace Whitesky.DiskFormats.Vmdk;

/// <summary>Reads a range of an extent that the extent does not hold (offsets relative to the extent): the parent's data or zeroes.</summary>
internal delegate ValueTask VmdkUnallocatedReader(long offset, Memory<byte> buffer, CancellationToken cancellationToken);

/// <summary>One extent of a VMDK: a run of the virtual disk stored one way (sparse, flat, zero).</summary>
internal interface IVmdkExtent : IAsyncDisposable
{
    /// <summary>Bytes of the virtual disk this extent covers.</summary>
    long Length { get; }

    /// <summary>Bytes of file this extent occupies.</summary>
    long FileSize { get; }

    /// <summary>Fills <paramref name="buffer"/> from <paramref name="offset"/> (relative to the extent).</summary>
    ValueTask ReadAsync(long offset, Memory<byte> buffer, VmdkUnallocatedReader unallocated, CancellationToken cancellationToken);

    /// <summary>Extents (offsets relative to this extent) from metadata alone.</summary>
    IAsyncEnumerable<DiskExtent> GetExtentsAsync(long offset, long length, CancellationToken cancellationToken);
}
