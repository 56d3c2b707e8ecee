using Whitesky.DiskFormats;
using Whitesky.Nbd;

namespace Whitesky.Migration.Sources;

/// <summary>
/// An NBD export read as a virtual disk (a transfer source): reads are NBD reads, and extents come from
/// <c>base:allocation</c> block status (holes as unallocated, zero runs as zero). Without block status the
/// whole export is data.
/// </summary>
public sealed class NbdVirtualDisk : IVirtualDisk
{
    private readonly NbdClient _client;
    private readonly string _name;

    /// <summary>Reads the export <paramref name="client"/> is connected to; the disk owns the client.</summary>
    /// <param name="client">A connected client.</param>
    /// <param name="name">A name for messages (an URI without secrets).</param>
    public NbdVirtualDisk(NbdClient client, string name)
    {
        ArgumentNullException.ThrowIfNull(client);
        _client = client;
        _name = name;
    }

    /// <inheritdoc />
    public long Capacity => _client.Export.Size;

    /// <inheritdoc />
    public int LogicalSectorSize => Math.Max(512, _client.Export.MinimumBlockSize);

    /// <summary>None: an export is flat.</summary>
    public IVirtualDisk? Parent => null;

    /// <inheritdoc />
    public ValueTask ReadAsync(long offset, Memory<byte> buffer, CancellationToken cancellationToken = default) =>
        _client.ReadAsync(offset, buffer, cancellationToken);

    /// <inheritdoc />
    public async IAsyncEnumerable<DiskExtent> GetExtentsAsync(long offset, long length,
        [System.Runtime.CompilerServices.EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        if (!_client.Export.MetaContexts.Contains(NbdMetaContexts.BaseAllocation, StringComparer.Ordinal))
        {
            yield return new DiskExtent(offset, length, DiskExtentKind.Data);
            yield break;
        }

        await foreach (var extent in _client.GetExtentsAsync(NbdMetaContexts.BaseAllocation, offset, length, cancellationToken).ConfigureAwait(false))
        {
            var kind = extent.IsHole && extent.IsZero ? DiskExtentKind.Unallocated
                : extent.IsZero ? DiskExtentKind.Zero
                : DiskExtentKind.Data;
            yield return new DiskExtent(extent.Offset, extent.Length, kind);
        }
    }

    /// <inheritdoc />
    public DiskInfo Describe() => new() { Format = "nbd", Name = _name, VirtualSize = Capacity };

    /// <inheritdoc />
    public ValueTask DisposeAsync() => _client.DisposeAsync();
}
