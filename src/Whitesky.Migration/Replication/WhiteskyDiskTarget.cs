using System.Globalization;
using Whitesky.Api;
using Whitesky.Api.Models;
using Whitesky.Migration.Sinks;
using Whitesky.Migration.Transfer;
using Whitesky.Nbd;

namespace Whitesky.Migration.Replication;

/// <summary>
/// A whitesky disk as a replication target: created (or reused by id) through the API, exposed over NBD with
/// TLS-PSK while passes run, and unexposed when replication is done (before the target VM boots from it).
/// </summary>
public sealed class WhiteskyDiskTarget : IAsyncDisposable
{
    private const long GiB = 1L << 30;
    private readonly WhiteskyClient _client;
    private NbdBlockSink? _sink;

    private WhiteskyDiskTarget(WhiteskyClient client, long diskId)
    {
        _client = client;
        DiskId = diskId;
    }

    /// <summary>The disk's id.</summary>
    public long DiskId { get; }

    /// <summary>The exposed disk as a block sink (null once unexposed).</summary>
    public IBlockSink? Sink => _sink;

    /// <summary>Creates a disk large enough for <paramref name="capacity"/> bytes (whole GiB) and exposes it.</summary>
    public static async Task<WhiteskyDiskTarget> CreateAsync(WhiteskyClient client, string name, long capacity, int connections = 4,
        CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(client);
        ArgumentException.ThrowIfNullOrEmpty(name);
        ArgumentOutOfRangeException.ThrowIfLessThan(capacity, 1);
        var diskId = await client.CreateDiskAsync(new CreateDiskRequest
        {
            DiskName = name,
            Description = "replication target",
            DiskSize = (capacity + GiB - 1) / GiB,
            DiskType = DiskType.Data,
        }, cancellationToken).ConfigureAwait(false);
        await client.WaitForDiskCreatedAsync(diskId, TimeSpan.FromMinutes(5), cancellationToken).ConfigureAwait(false);
        return await OpenAsync(client, diskId, connections, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Exposes an existing disk (a replication resumed after a restart) and connects to it.</summary>
    public static async Task<WhiteskyDiskTarget> OpenAsync(WhiteskyClient client, long diskId, int connections = 4, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(client);
        var target = new WhiteskyDiskTarget(client, diskId);
        var exposure = await client.ExposeDiskAsync(diskId, maxConnections: Math.Max(connections, 1), cancellationToken: cancellationToken).ConfigureAwait(false);
        try
        {
            var endpoint = exposure.Endpoint ?? throw new InvalidOperationException($"Exposing disk {diskId} answered no endpoint.");
            if (endpoint.Address is null || endpoint.Port is null || endpoint.User is null || endpoint.Psk is null)
            {
                throw new InvalidOperationException($"Exposing disk {diskId} answered an endpoint without address, port or key.");
            }

            target._sink = await NbdBlockSink.ConnectAsync(new NbdClientOptions
            {
                Endpoint = NbdEndpoint.Tcp(endpoint.Address, (int)endpoint.Port.Value),
                ExportName = endpoint.Name ?? string.Empty,
                TlsMode = NbdTlsMode.Required,
                TlsPsk = NbdTlsPsk.FromHex(endpoint.User, endpoint.Psk),
                Connections = Math.Max(connections, 1),
            }, cancellationToken).ConfigureAwait(false);
            return target;
        }
        catch
        {
            await client.UnexposeDiskAsync(diskId, CancellationToken.None).ConfigureAwait(false);
            throw;
        }
    }

    /// <summary>Closes the NBD connections and unexposes the disk (it can be attached to a VM afterwards).</summary>
    public async Task UnexposeAsync(CancellationToken cancellationToken = default)
    {
        if (_sink is not { } sink)
        {
            return;
        }

        _sink = null;
        await sink.DisposeAsync().ConfigureAwait(false);
        await _client.UnexposeDiskAsync(DiskId, cancellationToken).ConfigureAwait(false);
    }

    /// <inheritdoc/>
    public async ValueTask DisposeAsync() => await UnexposeAsync(CancellationToken.None).ConfigureAwait(false);

    /// <inheritdoc/>
    public override string ToString() => string.Create(CultureInfo.InvariantCulture, $"whitesky disk {DiskId}");
}
