using Whitesky.DiskFormats;

namespace Whitesky.Migration.Replication;

/// <summary>
/// Replicates through a chain of snapshots: pass 0 copies the base image (with its own parents), and pass N copies
/// exactly what snapshot layer N holds — the allocated (and zeroed) ranges of a differencing disk (Hyper-V
/// <c>.avhdx</c>, VMware delta or seSparse, a qcow2 overlay) are what changed since its parent. The source platform
/// takes the snapshots; each layer handed to <see cref="AddLayer"/> must be frozen (a newer snapshot was taken on
/// top of it, or the VM is stopped).
/// </summary>
public sealed class SnapshotDeltaChangeSource : IChangeSource
{
    private readonly List<string> _layers = [];
    private readonly DiskImageOptions _options;
    private IVirtualDisk? _current;
    private int _currentPass = -1;

    /// <summary>Starts from <paramref name="baseImage"/> (pass 0); layers are added as snapshots are taken.</summary>
    public SnapshotDeltaChangeSource(string baseImage, DiskImageOptions? options = null)
    {
        ArgumentException.ThrowIfNullOrEmpty(baseImage);
        _layers.Add(baseImage);
        _options = options ?? new DiskImageOptions();
    }

    /// <inheritdoc/>
    public string Name => _layers[^1];

    /// <inheritdoc/>
    public long Capacity => _current?.Capacity ?? throw new InvalidOperationException("Ask for a pass first.");

    /// <summary>The images: the base, then each snapshot layer in order.</summary>
    public IReadOnlyList<string> Layers => _layers;

    /// <summary>Adds the next frozen snapshot layer (a differencing image whose parent is the previous layer).</summary>
    public void AddLayer(string layerImage)
    {
        ArgumentException.ThrowIfNullOrEmpty(layerImage);
        _layers.Add(layerImage);
    }

    /// <inheritdoc/>
    /// <exception cref="InvalidOperationException">No layer was added for <paramref name="pass"/> yet.</exception>
    public async Task<ChangeSet> GetChangesAsync(int pass, CancellationToken cancellationToken = default)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(pass);
        if (pass >= _layers.Count)
        {
            throw new InvalidOperationException($"Pass {pass} needs snapshot layer {pass}, but only {_layers.Count - 1} layers were added: take a snapshot and add its layer first.");
        }

        var chain = await DiskImage.OpenAsync(_layers[pass], _options, cancellationToken).ConfigureAwait(false);
        try
        {
            var ranges = new List<ChangedRange>();
            if (pass == 0)
            {
                await AddRangesAsync(chain, ranges, cancellationToken).ConfigureAwait(false);
            }
            else
            {
                await using var layer = await DiskImage.OpenAsync(_layers[pass], _options with { LayerOnly = true }, cancellationToken).ConfigureAwait(false);
                await AddRangesAsync(layer, ranges, cancellationToken).ConfigureAwait(false);
            }

            if (_current is not null)
            {
                await _current.DisposeAsync().ConfigureAwait(false);
            }

            _current = chain;
            _currentPass = pass;
            return new ChangeSet(pass, ranges);
        }
        catch
        {
            await chain.DisposeAsync().ConfigureAwait(false);
            throw;
        }
    }

    /// <inheritdoc/>
    public ValueTask ReadAsync(long offset, Memory<byte> buffer, CancellationToken cancellationToken = default) =>
        (_current ?? throw new InvalidOperationException("Ask for a pass first.")).ReadAsync(offset, buffer, cancellationToken);

    /// <inheritdoc/>
    public Task CommitAsync(ChangeSet changes, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(changes);
        if (changes.Pass != _currentPass)
        {
            throw new InvalidOperationException($"Pass {changes.Pass} is not the pass last asked for ({_currentPass}).");
        }

        return Task.CompletedTask;
    }

    /// <inheritdoc/>
    public ValueTask DisposeAsync() => _current?.DisposeAsync() ?? ValueTask.CompletedTask;

    private static async Task AddRangesAsync(IVirtualDisk disk, List<ChangedRange> ranges, CancellationToken cancellationToken)
    {
        await foreach (var extent in disk.GetExtentsAsync(0, disk.Capacity, cancellationToken).ConfigureAwait(false))
        {
            if (extent.Kind == DiskExtentKind.Unallocated)
            {
                continue;
            }

            ChangedRanges.Append(ranges, extent.Offset, extent.End);
        }
    }
}
