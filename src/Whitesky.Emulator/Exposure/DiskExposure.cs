using System.Globalization;
using System.Net;
using System.Security.Cryptography;
using Microsoft.Extensions.Logging;
using Whitesky.Emulator.Faults;
using Whitesky.Nbd;
using Whitesky.Nbd.Server;

namespace Whitesky.Emulator.Exposure;

/// <summary>
/// One exposed disk: the SDK's <see cref="NbdServer"/> serving the disk's sparse file over TLS-PSK with an
/// identity and key made for this exposure only, behind an <see cref="NbdRelay"/> that is the public endpoint.
/// </summary>
internal sealed class DiskExposure : IAsyncDisposable
{
    /// <summary>Bytes of a fresh PSK (hex-encoded in the answer, as nbdkit's PSK files hold keys).</summary>
    private const int PskBytes = 32;

    private static readonly TimeSpan DrainTimeout = TimeSpan.FromSeconds(2);
    private readonly NbdBackend _backend;
    private readonly NbdServer _server;
    private readonly NbdRelay _relay;

    private DiskExposure(int diskId, string exportName, string identity, string pskHex, NbdBackend backend, NbdServer server, NbdRelay relay, int privatePort)
    {
        DiskId = diskId;
        ExportName = exportName;
        Identity = identity;
        PskHex = pskHex;
        _backend = backend;
        _server = server;
        _relay = relay;
        PrivatePort = privatePort;
    }

    public int DiskId { get; }

    public string ExportName { get; }

    public string Identity { get; }

    /// <summary>The key, hex; only ever sent to the caller of the expose operation.</summary>
    public string PskHex { get; }

    public int Port => _relay.Port;

    public int PrivatePort { get; }

    public static async Task<DiskExposure> StartAsync(int diskId, string path, int? maxConnections, EmulatorFaults faults,
        ILoggerFactory? loggerFactory, CancellationToken cancellationToken)
    {
        if (!OperatingSystem.IsLinux())
        {
            throw new PlatformNotSupportedException("Exposing a disk needs Linux (sparse files served by SparseFileBackend).");
        }

        var exportName = string.Create(CultureInfo.InvariantCulture, $"disk-{diskId}");
        var identity = "user-" + Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(6));
        var key = RandomNumberGenerator.GetBytes(PskBytes);
        var pskHex = Convert.ToHexStringLower(key);
        var psk = new NbdTlsPsk(identity, key);
        CryptographicOperations.ZeroMemory(key);

        var backend = SparseFileBackend.Open(path);
        NbdServer? server = null;
        try
        {
            var export = new NbdServerExport { Name = exportName, Backend = backend, Description = $"emulator disk {diskId}" };
            if (maxConnections is { } max)
            {
                export = export with { MaxConnections = max };
            }

            server = await NbdServer.StartAsync(new NbdServerOptions
            {
                Listen = [NbdEndpoint.Tcp("127.0.0.1", 0)],
                Exports = [export],
                TlsMode = NbdServerTlsMode.Required,
                TlsPskKeys = id => string.Equals(id, identity, StringComparison.Ordinal) ? psk : null,
                LoggerFactory = loggerFactory,
            }, cancellationToken).ConfigureAwait(false);
            var privatePort = ((NbdTcpEndpoint)server.Endpoints[0]).Port;
            var relay = new NbdRelay(new IPEndPoint(IPAddress.Loopback, privatePort), faults, faults.FailExposes);
            return new DiskExposure(diskId, exportName, identity, pskHex, backend, server, relay, privatePort);
        }
        catch
        {
            if (server is not null)
            {
                await server.DisposeAsync().ConfigureAwait(false);
            }

            await backend.DisposeAsync().ConfigureAwait(false);
            throw;
        }
    }

    /// <summary>Closes the public endpoint and its connections, then the server (requests in flight are given a moment), then the file.</summary>
    public async ValueTask DisposeAsync()
    {
        await _relay.DisposeAsync().ConfigureAwait(false);
        using (var drain = new CancellationTokenSource(DrainTimeout))
        {
            try
            {
                await _server.StopAsync(drain.Token).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                // StopAsync cut the connections still draining.
            }
        }

        await _server.DisposeAsync().ConfigureAwait(false);
        await _backend.DisposeAsync().ConfigureAwait(false);
    }

    public override string ToString() => $"exposure of disk {DiskId} as '{ExportName}' on port {Port} (key redacted)";
}
