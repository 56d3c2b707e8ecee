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
        var end = offset + length;
        if (!_client.Export.MetaContexts.Contains(NbdMetaContexts.BaseAllocation, StringComparer.Ordinal))
        {
            yield return new DiskExtent(offset, length, DiskExtentKind.Data);
            yield break;
        }

        while (offset < end)
        {
            var status = await _client.BlockStatusAsync(offset, end - offset, cancellationToken: cancellationToken).ConfigureAwait(false);
            var extents = status[NbdMetaContexts.BaseAllocation];
            if (extents.Count == 0)
            {
                throw new NbdProtocolException($"{_name}: the server answered BLOCK_STATUS at offset {offset} with no extent.");
            }

            foreach (var extent in extents)
            {
                var stop = Math.Min(extent.End, end);
                if (stop <= offset)
                {
                    continue;
                }

                var kind = extent.IsHole && extent.IsZero ? DiskExtentKind.Unallocated
                    : extent.IsZero ? DiskExtentKind.Zero
                    : DiskExtentKind.Data;
                yield return new DiskExtent(offset, stop - offset, kind);
                offset = stop;
            }
        }
    }

    /// <inheritdoc />
    public DiskInfo Describe() => new() { Format = "nbd", Name = _name, VirtualSize = Capacity };

    /// <inheritdoc />
    public ValueTask DisposeAsync() => _client.DisposeAsync();
}
