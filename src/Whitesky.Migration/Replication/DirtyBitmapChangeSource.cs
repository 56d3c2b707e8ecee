using System.Buffers;
using Whitesky.Nbd;

namespace Whitesky.Migration.Replication;

/// <summary>
/// Replicates a running KVM disk exported over NBD with a <c>qemu:dirty-bitmap:NAME</c> meta context (qemu-nbd
/// <c>-B NAME</c>, a libvirt backup job, Proxmox, Nutanix AHV, OpenNebula): pass 0 copies what
/// <c>base:allocation</c> says is allocated, later passes only the blocks the bitmap marks dirty. The bitmap must
/// have been created before pass 0 began.
/// A bitmap that keeps accumulating (nobody clears or rotates it between passes) marks the same blocks again and
/// again; with <see cref="DirtyBitmapChangeSourceOptions.CompareHashes"/> (the default) each dirty block is read and
/// hashed, and only blocks whose content differs from what the previous pass copied are sent.
/// </summary>
public sealed class DirtyBitmapChangeSource : IChangeSource, IChangeSourceState
{
    private readonly NbdClient _client;
    private readonly string _context;
    private readonly DirtyBitmapChangeSourceOptions _options;
    private readonly Dictionary<long, UInt128> _sent = [];
    private Dictionary<long, UInt128>? _pending;

    private DirtyBitmapChangeSource(NbdClient client, string bitmap, DirtyBitmapChangeSourceOptions options)
    {
        _client = client;
        _context = NbdMetaContexts.QemuDirtyBitmap(bitmap);
        _options = options;
    }

    /// <inheritdoc/>
    public string Name => _client.Export.Name.Length == 0 ? _context : $"{_client.Export.Name} ({_context})";

    /// <inheritdoc/>
    public long Capacity => _client.Export.Size;

    /// <summary>Connects to the source export asking for <c>base:allocation</c> and the bitmap's meta context.</summary>
    /// <exception cref="InvalidOperationException">The server does not offer the bitmap.</exception>
    public static async Task<DirtyBitmapChangeSource> ConnectAsync(NbdClientOptions source, string bitmap, DirtyBitmapChangeSourceOptions? options = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(source);
        ArgumentException.ThrowIfNullOrEmpty(bitmap);
        var context = NbdMetaContexts.QemuDirtyBitmap(bitmap);
        var client = await NbdClient.ConnectAsync(source with { MetaContexts = [NbdMetaContexts.BaseAllocation, context] }, cancellationToken).ConfigureAwait(false);
        if (!client.Export.MetaContexts.Contains(context))
        {
            await client.DisposeAsync().ConfigureAwait(false);
            throw new InvalidOperationException($"The NBD server does not export the dirty bitmap '{bitmap}' (it agreed to: {string.Join(", ", client.Export.MetaContexts)}). Export it, e.g. qemu-nbd -B {bitmap}.");
        }

        return new DirtyBitmapChangeSource(client, bitmap, options ?? new DirtyBitmapChangeSourceOptions());
    }

    /// <inheritdoc/>
    public async Task<ChangeSet> GetChangesAsync(int pass, CancellationToken cancellationToken = default)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(pass);
        if (pass == 0)
        {
            _pending = [];
            var allocated = await MapAsync(NbdMetaContexts.BaseAllocation, e => !e.IsHole, cancellationToken).ConfigureAwait(false);
            return new ChangeSet(0, allocated);
        }

        var dirty = await MapAsync(_context, e => (e.Flags & NbdExtent.DirtyFlag) != 0, cancellationToken).ConfigureAwait(false);
        if (!_options.CompareHashes)
        {
            return new ChangeSet(pass, dirty);
        }

        var blockSize = _options.HashBlockSize;
        var pending = new Dictionary<long, UInt128>();
        var changed = new List<long>();
        var buffer = ArrayPool<byte>.Shared.Rent(blockSize);
        try
        {
            var last = -1L;
            foreach (var range in dirty)
            {
                for (var block = Math.Max(range.Offset / blockSize, last + 1); block <= (range.End - 1) / blockSize; block++)
                {
                    last = block;
                    var length = (int)Math.Min(blockSize, Capacity - (block * blockSize));
                    await _client.ReadAsync(block * blockSize, buffer.AsMemory(0, length), cancellationToken).ConfigureAwait(false);
                    var hash = BlockHashes.Of(buffer.AsSpan(0, length));
                    if (!_sent.TryGetValue(block, out var previous) || previous != hash)
                    {
                        changed.Add(block);
                        pending[block] = hash;
                    }
                }
            }
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }

        _pending = pending;
        return new ChangeSet(pass, BlockHashes.ToRanges(changed, blockSize, Capacity));
    }

    /// <inheritdoc/>
    public ValueTask ReadAsync(long offset, Memory<byte> buffer, CancellationToken cancellationToken = default) =>
        _client.ReadAsync(offset, buffer, cancellationToken);

    /// <inheritdoc/>
    public Task CommitAsync(ChangeSet changes, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(changes);
        var pending = _pending ?? throw new InvalidOperationException("No pass was asked for, so there is nothing to commit.");
        if (changes.Pass == 0)
        {
            // Pass 0 copied everything: hashes of blocks dirty by then are unknown, so pass 1 sends every dirty block.
            _sent.Clear();
        }

        foreach (var (block, hash) in pending)
        {
            _sent[block] = hash;
        }

        _pending = null;
        return Task.CompletedTask;
    }

    /// <summary>
    /// Writes the hashes of the blocks the committed passes sent (16 bytes per block sent since pass 0), so that a
    /// restarted replication sends only blocks whose content differs from them.
    /// </summary>
    public async Task SaveStateAsync(Stream destination, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(destination);
        var bytes = new byte[StateHeaderSize + (_sent.Count * 24L)];
        StateMagic.CopyTo(bytes);
        BitConverter.TryWriteBytes(bytes.AsSpan(8, 8), Capacity);
        BitConverter.TryWriteBytes(bytes.AsSpan(16, 4), _options.HashBlockSize);
        BitConverter.TryWriteBytes(bytes.AsSpan(20, 4), _sent.Count);
        var position = StateHeaderSize;
        foreach (var (block, hash) in _sent.OrderBy(p => p.Key))
        {
            BitConverter.TryWriteBytes(bytes.AsSpan(position, 8), block);
            BitConverter.TryWriteBytes(bytes.AsSpan(position + 8, 8), (ulong)(hash >> 64));
            BitConverter.TryWriteBytes(bytes.AsSpan(position + 16, 8), (ulong)hash);
            position += 24;
        }

        await destination.WriteAsync(bytes, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Reads hashes written by <see cref="SaveStateAsync"/> for an export of the same size and hash block size.</summary>
    /// <exception cref="InvalidDataException">The state belongs to another export size or block size, or is damaged.</exception>
    public async Task LoadStateAsync(Stream source, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(source);
        var header = new byte[StateHeaderSize];
        var read = await source.ReadAtLeastAsync(header, header.Length, throwOnEndOfStream: false, cancellationToken).ConfigureAwait(false);
        var blocks = (Capacity + _options.HashBlockSize - 1) / _options.HashBlockSize;
        var count = read == header.Length ? BitConverter.ToInt32(header, 20) : -1;
        if (read != header.Length || !header.AsSpan(0, 8).SequenceEqual(StateMagic) || BitConverter.ToInt64(header, 8) != Capacity
            || BitConverter.ToInt32(header, 16) != _options.HashBlockSize || count < 0 || count > blocks)
        {
            throw new InvalidDataException($"The saved dirty-bitmap hashes do not belong to {Name} ({Capacity} bytes in blocks of {_options.HashBlockSize}).");
        }

        var entries = new byte[count * 24L];
        if (await source.ReadAtLeastAsync(entries, entries.Length, throwOnEndOfStream: false, cancellationToken).ConfigureAwait(false) != entries.Length)
        {
            throw new InvalidDataException($"The saved dirty-bitmap hashes of {Name} are truncated ({count} blocks announced).");
        }

        _sent.Clear();
        for (var i = 0; i < count; i++)
        {
            var entry = entries.AsSpan(i * 24, 24);
            var block = BitConverter.ToInt64(entry[..8]);
            if (block < 0 || block >= blocks)
            {
                throw new InvalidDataException($"The saved dirty-bitmap hashes of {Name} name block {block}, outside the export's {blocks} blocks.");
            }

            _sent[block] = new UInt128(BitConverter.ToUInt64(entry[8..16]), BitConverter.ToUInt64(entry[16..24]));
        }
    }

    /// <inheritdoc/>
    public ValueTask DisposeAsync() => _client.DisposeAsync();

    private const int StateHeaderSize = 24;

    private static ReadOnlySpan<byte> StateMagic => "WSDBMAP1"u8;

    private async Task<List<ChangedRange>> MapAsync(string context, Func<NbdExtent, bool> wanted, CancellationToken cancellationToken)
    {
        var ranges = new List<ChangedRange>();
        await foreach (var extent in _client.GetExtentsAsync(context, 0, Capacity, cancellationToken).ConfigureAwait(false))
        {
            if (wanted(extent))
            {
                ChangedRanges.Append(ranges, extent.Offset, extent.End);
            }
        }

        return ranges;
    }
}

/// <summary>How <see cref="DirtyBitmapChangeSource"/> narrows what it sends.</summary>
public sealed record DirtyBitmapChangeSourceOptions
{
    /// <summary>
    /// Read and hash each dirty block and send only those whose content changed since the previous pass (for a
    /// bitmap that accumulates). Turn off when the source platform starts a fresh bitmap for every pass.
    /// </summary>
    public bool CompareHashes { get; init; } = true;

    /// <summary>Hash granularity in bytes: qemu's default bitmap granularity, 64 KiB.</summary>
    public int HashBlockSize { get; init; } = 64 * 1024;
}
