using System.Net.Sockets;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Whitesky.Migration.Transfer;
using Whitesky.Nbd;

namespace Whitesky.Migration.Sinks;

/// <summary>
/// An NBD export as a transfer target, through <see cref="NbdClient"/> (pipelined, multi-conn when the export allows
/// it). Zeroes go as <c>WRITE_ZEROES</c> with <c>FAST_ZERO</c>, then plain <c>WRITE_ZEROES</c> once the server refuses
/// fast zeroing, else as writes of a zero buffer. After a lost connection <see cref="RecoverAsync"/> connects again;
/// an <c>EIO</c> reply is retried as it is.
/// </summary>
public sealed class NbdBlockSink : IBlockSink
{
    private const int ZeroBufferSize = 1 << 20;

    private readonly NbdClientOptions? _options;
    private readonly ILogger _logger;
    private readonly SemaphoreSlim _reconnect = new(1, 1);
    private readonly NbdExportInfo _export;
    private NbdClient _client;
    private NbdClient? _failedClient;
    private ReadOnlyMemory<byte> _zeroBuffer;
    private int _zeroing;

    private NbdBlockSink(NbdClient client, NbdClientOptions? options, ILogger logger)
    {
        _client = client;
        _options = options;
        _logger = logger;
        _export = client.Export;
        Name = options is null ? $"NBD export '{_export.Name}'" : NbdUri.Format(options.Endpoint, options.ExportName, options.TlsMode != NbdTlsMode.Disabled);
        _zeroing = (int)(!_export.CanWriteZeroes ? Zeroing.Buffers : _export.CanFastZero ? Zeroing.Fast : Zeroing.Plain);
    }

    private enum Zeroing
    {
        Fast,
        Plain,
        Buffers,
    }

    /// <summary>The export's address without secrets (for messages and checkpoints).</summary>
    public string Name { get; }

    /// <inheritdoc />
    public long Capacity => _export.Size;

    /// <inheritdoc />
    public int MinimumBlockSize => Math.Max(1, _export.MinimumBlockSize);

    /// <inheritdoc />
    public int PreferredBlockSize => _export.PreferredBlockSize;

    /// <inheritdoc />
    public int MaximumRequestSize => _export.MaximumPayloadSize;

    /// <inheritdoc />
    public bool CanRead => true;

    /// <summary>The client requests currently go through (replaced after a reconnect).</summary>
    public NbdClient Client => Volatile.Read(ref _client);

    /// <summary>Connects to the export; the options are kept to connect again after a connection is lost.</summary>
    /// <exception cref="TransferException">The export is read-only.</exception>
    public static async Task<NbdBlockSink> ConnectAsync(NbdClientOptions options, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(options);
        var client = await NbdClient.ConnectAsync(options, cancellationToken).ConfigureAwait(false);
        var logger = (ILogger?)options.LoggerFactory?.CreateLogger<NbdBlockSink>() ?? NullLogger.Instance;
        var sink = new NbdBlockSink(client, options, logger);
        if (client.Export.IsReadOnly)
        {
            await sink.DisposeAsync().ConfigureAwait(false);
            throw new TransferException($"The export {sink.Name} is read-only; cannot copy into it.");
        }

        return sink;
    }

    /// <summary>Wraps a connected client (the sink owns it); without its options it cannot reconnect, only retry.</summary>
    public static NbdBlockSink FromClient(NbdClient client)
    {
        ArgumentNullException.ThrowIfNull(client);
        return new NbdBlockSink(client, null, NullLogger.Instance);
    }

    /// <inheritdoc />
    public async ValueTask WriteAsync(long offset, ReadOnlyMemory<byte> data, CancellationToken cancellationToken = default)
    {
        var client = Client;
        try
        {
            await client.WriteAsync(offset, data, NbdCommandFlags.None, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception ex) when (IsConnectionLoss(ex))
        {
            Volatile.Write(ref _failedClient, client);
            throw;
        }
    }

    /// <inheritdoc />
    public async ValueTask WriteZeroesAsync(long offset, long length, CancellationToken cancellationToken = default)
    {
        var client = Client;
        try
        {
            await ZeroAsync(client, offset, length, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception ex) when (IsConnectionLoss(ex))
        {
            Volatile.Write(ref _failedClient, client);
            throw;
        }
    }

    /// <inheritdoc />
    public async ValueTask FlushAsync(CancellationToken cancellationToken = default)
    {
        var client = Client;
        if (!client.Export.CanFlush)
        {
            return;
        }

        try
        {
            await client.FlushAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (Exception ex) when (IsConnectionLoss(ex))
        {
            Volatile.Write(ref _failedClient, client);
            throw;
        }
    }

    /// <inheritdoc />
    public async ValueTask ReadAsync(long offset, Memory<byte> buffer, CancellationToken cancellationToken = default)
    {
        var client = Client;
        try
        {
            await client.ReadAsync(offset, buffer, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception ex) when (IsConnectionLoss(ex))
        {
            Volatile.Write(ref _failedClient, client);
            throw;
        }
    }

    /// <summary>Asks <c>base:allocation</c> block status; false when the server did not agree to it or refuses.</summary>
    public async ValueTask<bool> ReadsAsZeroAsync(long offset, long length, CancellationToken cancellationToken = default)
    {
        var client = Client;
        if (!client.Export.MetaContexts.Contains(NbdMetaContexts.BaseAllocation, StringComparer.Ordinal))
        {
            return false;
        }

        try
        {
            var end = offset + length;
            while (offset < end)
            {
                var status = await client.BlockStatusAsync(offset, end - offset, cancellationToken: cancellationToken).ConfigureAwait(false);
                var extents = status[NbdMetaContexts.BaseAllocation];
                if (extents.Count == 0)
                {
                    return false;
                }

                foreach (var extent in extents)
                {
                    if (!extent.IsZero)
                    {
                        return false;
                    }

                    offset = extent.End;
                }
            }

            return true;
        }
        catch (NbdException ex) when (ex.Command == NbdCommand.BlockStatus)
        {
            return false;
        }
    }

    /// <summary>
    /// True for an <c>EIO</c> reply (sent again as it is) and for a lost connection, after connecting again (once
    /// for all the requests that failed on the same connection). A failed reconnect still returns true: the caller
    /// bounds the attempts.
    /// </summary>
    public async ValueTask<bool> RecoverAsync(Exception failure, CancellationToken cancellationToken = default)
    {
        if (failure is NbdException { Error: NbdError.EIO or NbdError.ESHUTDOWN })
        {
            return true;
        }

        if (!IsConnectionLoss(failure) || _options is null)
        {
            return false;
        }

        await _reconnect.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            var failed = Volatile.Read(ref _failedClient);
            var current = Client;
            if (failed is not null && !ReferenceEquals(failed, current))
            {
                return true;
            }

            try
            {
                var fresh = await NbdClient.ConnectAsync(_options, cancellationToken).ConfigureAwait(false);
                if (fresh.Export.Size != _export.Size)
                {
                    await fresh.DisposeAsync().ConfigureAwait(false);
                    return false;
                }

                Volatile.Write(ref _client, fresh);
                SinkLog.Reconnected(_logger, Name);
                _ = DisposeQuietlyAsync(current);
            }
            catch (NbdException ex) when (ex is NbdConnectionException || ex.InnerException is SocketException or IOException)
            {
                SinkLog.ReconnectFailed(_logger, Name, ex.Message);
            }

            return true;
        }
        finally
        {
            _reconnect.Release();
        }
    }

    /// <inheritdoc />
    public async ValueTask DisposeAsync()
    {
        await Client.DisposeAsync().ConfigureAwait(false);
        _reconnect.Dispose();
    }

    private static bool IsConnectionLoss(Exception ex) =>
        ex is NbdConnectionException or NbdProtocolException or ObjectDisposedException
        || (ex is IOException && ex is not NbdException);

    private static async Task DisposeQuietlyAsync(NbdClient client)
    {
        try
        {
            await client.DisposeAsync().ConfigureAwait(false);
        }
        catch (IOException)
        {
            // The connection was already lost.
        }
    }

    private async ValueTask ZeroAsync(NbdClient client, long offset, long length, CancellationToken cancellationToken)
    {
        if ((Zeroing)Volatile.Read(ref _zeroing) == Zeroing.Fast)
        {
            try
            {
                await client.WriteZeroesAsync(offset, length, NbdCommandFlags.FastZero, cancellationToken).ConfigureAwait(false);
                return;
            }
            catch (NbdException ex) when (ex.Error == NbdError.ENOTSUP)
            {
                if (Interlocked.CompareExchange(ref _zeroing, (int)Zeroing.Plain, (int)Zeroing.Fast) == (int)Zeroing.Fast)
                {
                    SinkLog.FastZeroRefused(_logger, Name);
                }
            }
        }

        if ((Zeroing)Volatile.Read(ref _zeroing) == Zeroing.Plain)
        {
            await client.WriteZeroesAsync(offset, length, NbdCommandFlags.None, cancellationToken).ConfigureAwait(false);
            return;
        }

        if (_zeroBuffer.IsEmpty)
        {
            _zeroBuffer = new byte[(int)Math.Min(ZeroBufferSize, MaximumRequestSize)];
        }

        var writes = new List<Task>();
        for (long done = 0; done < length;)
        {
            var part = (int)Math.Min(_zeroBuffer.Length, length - done);
            writes.Add(client.WriteAsync(offset + done, _zeroBuffer[..part], cancellationToken: cancellationToken).AsTask());
            done += part;
        }

        await Task.WhenAll(writes).ConfigureAwait(false);
    }
}
