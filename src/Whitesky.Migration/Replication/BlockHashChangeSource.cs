using System.Buffers;
using Whitesky.DiskFormats;

namespace Whitesky.Migration.Replication;

/// <summary>
/// Finds changes in any readable disk (a device, a raw file being written, an image) by hashing it block by
/// block (XxHash128) and comparing with the hashes of the previous committed pass: only blocks whose content
/// differs are copied. Every pass reads the whole allocated disk locally; what crosses the network is the change.
/// Memory: 16 bytes per block (1 MiB blocks: 16 MiB per TiB).
/// </summary>
public sealed class BlockHashChangeSource : IChangeSource, IChangeSourceState
{
    /// <summary>The default hashing block: 1 MiB.</summary>
    public const int DefaultBlockSize = 1024 * 1024;

    private const long MaxBlocks = 64L * 1024 * 1024;
    private readonly IVirtualDisk _disk;
    private readonly bool _ownsDisk;
    private readonly int _blockSize;
    private UInt128[]? _baseline;
    private UInt128[]? _pending;

    /// <summary>Watches <paramref name="disk"/> in blocks of <paramref name="blockSize"/> bytes (a multiple of 4 KiB).</summary>
    public BlockHashChangeSource(IVirtualDisk disk, int blockSize = DefaultBlockSize, bool ownsDisk = false)
    {
        ArgumentNullException.ThrowIfNull(disk);
        ArgumentOutOfRangeException.ThrowIfLessThan(blockSize, 4096);
        if (blockSize % 4096 != 0)
        {
            throw new ArgumentOutOfRangeException(nameof(blockSize), blockSize, "The block size must be a multiple of 4096.");
        }

        if ((disk.Capacity + blockSize - 1) / blockSize > MaxBlocks)
        {
            throw new ArgumentOutOfRangeException(nameof(blockSize), blockSize, $"A disk of {disk.Capacity} bytes needs more than {MaxBlocks} blocks of this size; choose larger blocks.");
        }

        _disk = disk;
        _ownsDisk = ownsDisk;
        _blockSize = blockSize;
    }

    /// <inheritdoc/>
    public string Name => _disk.Describe().Name;

    /// <inheritdoc/>
    public long Capacity => _disk.Capacity;

    /// <summary>The hashing block size in bytes.</summary>
    public int BlockSize => _blockSize;

    /// <inheritdoc/>
    public async Task<ChangeSet> GetChangesAsync(int pass, CancellationToken cancellationToken = default)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(pass);
        var blocks = (int)((_disk.Capacity + _blockSize - 1) / _blockSize);
        var hashes = new UInt128[blocks];
        var changed = new List<long>();
        var buffer = ArrayPool<byte>.Shared.Rent(_blockSize);
        try
        {
            // Blocks without data hash as zero without being read.
            var withData = new bool[blocks];
            await foreach (var extent in _disk.GetExtentsAsync(0, _disk.Capacity, cancellationToken).ConfigureAwait(false))
            {
                if (extent.Kind == DiskExtentKind.Data)
                {
                    for (var b = extent.Offset / _blockSize; b <= (extent.End - 1) / _blockSize; b++)
                    {
                        withData[b] = true;
                    }
                }
            }

            for (var b = 0; b < blocks; b++)
            {
                if (withData[b])
                {
                    var length = (int)Math.Min(_blockSize, _disk.Capacity - ((long)b * _blockSize));
                    await _disk.ReadAsync((long)b * _blockSize, buffer.AsMemory(0, length), cancellationToken).ConfigureAwait(false);
                    hashes[b] = BlockHashes.Of(buffer.AsSpan(0, length));
                }

                var previous = _baseline is null ? BlockHashes.Zero : _baseline[b];
                if (hashes[b] != previous || (_baseline is null && withData[b]))
                {
                    changed.Add(b);
                }
            }
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }

        _pending = hashes;
        return new ChangeSet(pass, BlockHashes.ToRanges(changed, _blockSize, _disk.Capacity));
    }

    /// <inheritdoc/>
    public ValueTask ReadAsync(long offset, Memory<byte> buffer, CancellationToken cancellationToken = default) =>
        _disk.ReadAsync(offset, buffer, cancellationToken);

    /// <inheritdoc/>
    public Task CommitAsync(ChangeSet changes, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(changes);
        _baseline = _pending ?? throw new InvalidOperationException("No pass was asked for, so there is nothing to commit.");
        _pending = null;
        return Task.CompletedTask;
    }

    /// <summary>Writes the committed hashes, so that a restarted replication compares against them.</summary>
    public async Task SaveStateAsync(Stream destination, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(destination);
        var baseline = _baseline ?? throw new InvalidOperationException("No pass was committed yet.");
        var bytes = new byte[16 + (baseline.Length * 16)];
        BitConverter.TryWriteBytes(bytes.AsSpan(0, 8), _disk.Capacity);
        BitConverter.TryWriteBytes(bytes.AsSpan(8, 4), _blockSize);
        System.Runtime.InteropServices.MemoryMarshal.AsBytes(baseline.AsSpan()).CopyTo(bytes.AsSpan(16));
        await destination.WriteAsync(bytes, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Reads hashes written by <see cref="SaveStateAsync"/> for the same disk and block size.</summary>
    /// <exception cref="InvalidDataException">The state belongs to another disk size or block size, or is truncated.</exception>
    public async Task LoadStateAsync(Stream source, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(source);
        var blocks = (int)((_disk.Capacity + _blockSize - 1) / _blockSize);
        var bytes = new byte[16 + (blocks * 16L)];
        var read = await source.ReadAtLeastAsync(bytes, bytes.Length, throwOnEndOfStream: false, cancellationToken).ConfigureAwait(false);
        if (read != bytes.Length || BitConverter.ToInt64(bytes, 0) != _disk.Capacity || BitConverter.ToInt32(bytes, 8) != _blockSize)
        {
            throw new InvalidDataException($"The saved hashes do not belong to {Name} ({_disk.Capacity} bytes in blocks of {_blockSize}).");
        }

        _baseline = System.Runtime.InteropServices.MemoryMarshal.Cast<byte, UInt128>(bytes.AsSpan(16)).ToArray();
    }

    /// <inheritdoc/>
    public ValueTask DisposeAsync() => _ownsDisk ? _disk.DisposeAsync() : ValueTask.CompletedTask;
}
