using System.Globalization;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Whitesky.Nbd.Client;

namespace Whitesky.Nbd;

/// <summary>
/// A client for one NBD export. Methods map one to one onto NBD commands (READ, WRITE, WRITE_ZEROES,
/// TRIM, FLUSH, CACHE, BLOCK_STATUS) and are safe to call concurrently: requests are pipelined, their
/// replies matched by cookie in any order. When the export advertises <c>CAN_MULTI_CONN</c> and
/// <see cref="NbdClientOptions.Connections"/> asks for more than one, requests are spread over several
/// connections. Requests larger than the server's maximum payload are split transparently.
/// </summary>
/// <remarks>
/// Disposing waits (bounded) for requests in flight, sends <c>NBD_CMD_DISC</c> and closes. A FLUSH
/// covers the writes whose calls completed before it was issued, on every connection.
/// </remarks>
public sealed class NbdClient : IAsyncDisposable
{
    private const long MaxNonPayloadRequest = 1L << 30;

    /// <summary>
    /// 2 GiB, as libnbd's tools ask: nbdkit 1.32 aborts (assertion <c>e.length &lt;= length</c>) when a
    /// request of nearly 4 GiB meets an extent running past it. A power of two stays aligned to any minimum
    /// block size; callers continue from where the answer ends anyway.
    /// </summary>
    private const long MaxBlockStatusRequest = 1L << 31;

    private readonly NbdConnection[] _connections;
    private int _disposed;

    private NbdClient(NbdConnection[] connections)
    {
        _connections = connections;
        Export = connections[0].Export;
    }

    /// <summary>The export as negotiated: size, flags, block-size constraints, meta contexts.</summary>
    public NbdExportInfo Export { get; }

    /// <summary>How many connections carry requests.</summary>
    public int ConnectionCount => _connections.Length;

    /// <summary>Connects to the export named by an NBD URI (see <see cref="NbdUri"/>).</summary>
    public static Task<NbdClient> ConnectAsync(string uri, CancellationToken cancellationToken = default) =>
        ConnectAsync(NbdUri.Parse(uri), cancellationToken);

    /// <summary>Connects to an export: fixed newstyle handshake, TLS when required, structured replies, meta contexts, <c>NBD_OPT_GO</c>.</summary>
    /// <exception cref="NbdConnectionException">The server cannot be reached or the handshake timed out.</exception>
    /// <exception cref="NbdTlsException">TLS was refused, or the key or certificate was not accepted.</exception>
    /// <exception cref="NbdOptionException">The server refused the export (unknown name, policy).</exception>
    /// <exception cref="NbdProtocolException">The server broke the protocol.</exception>
    public static async Task<NbdClient> ConnectAsync(NbdClientOptions options, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        var logger = (ILogger?)options.LoggerFactory?.CreateLogger<NbdClient>() ?? NullLogger.Instance;
        var first = await OpenConnectionAsync(options, logger, cancellationToken).ConfigureAwait(false);
        var connections = new List<NbdConnection> { first };
        try
        {
            if (options.Connections > 1)
            {
                if (first.Export.CanMultiConn)
                {
                    var more = await Task.WhenAll(Enumerable.Range(1, options.Connections - 1)
                        .Select(_ => OpenConnectionAsync(options, logger, cancellationToken))).ConfigureAwait(false);
                    connections.AddRange(more);
                    foreach (var other in more)
                    {
                        if (other.Export.Size != first.Export.Size || other.Export.Flags != first.Export.Flags)
                        {
                            throw new NbdProtocolException(string.Create(CultureInfo.InvariantCulture,
                                $"The NBD server at {options.Endpoint} described export '{options.ExportName}' differently on two connections (size {first.Export.Size} vs {other.Export.Size}, flags {first.Export.Flags} vs {other.Export.Flags})."));
                        }
                    }
                }
                else
                {
                    NbdClientLog.MultiConnUnavailable(logger, options.Endpoint.ToString(), options.Connections);
                }
            }
        }
        catch
        {
            await Task.WhenAll(connections.Select(c => c.DisposeAsync().AsTask())).ConfigureAwait(false);
            throw;
        }

        return new NbdClient([.. connections]);
    }

    /// <summary>Lists the server's exports (<c>NBD_OPT_LIST</c>).</summary>
    public static async Task<IReadOnlyList<NbdExportListing>> ListExportsAsync(NbdClientOptions options, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        return await NegotiateOnlyAsync(options, static (n, _, ct) => n.ListAsync(ct), cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Describes an export without opening it (<c>NBD_OPT_INFO</c>), including the meta contexts the server would agree to.</summary>
    public static async Task<NbdExportInfo> GetExportInfoAsync(NbdClientOptions options, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        return await NegotiateOnlyAsync(options, static async (n, o, ct) =>
        {
            var structured = o.StructuredReplies && await n.NegotiateStructuredRepliesAsync(ct).ConfigureAwait(false);
            var contexts = structured && o.MetaContexts.Count > 0
                ? await n.MetaContextsAsync(set: true, o.ExportName, o.MetaContexts, ct).ConfigureAwait(false)
                : [];
            return await n.GoAsync(go: false, o.ExportName, [.. contexts.Values], ct).ConfigureAwait(false);
        }, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// Lists the meta contexts the server offers for the export (<c>NBD_OPT_LIST_META_CONTEXT</c>). Queries
    /// may be namespaces such as <c>qemu:</c>; no query asks for every context.
    /// </summary>
    public static async Task<IReadOnlyList<string>> ListMetaContextsAsync(NbdClientOptions options, IReadOnlyList<string>? queries = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        return await NegotiateOnlyAsync(options, async (n, o, ct) =>
        {
            if (!await n.NegotiateStructuredRepliesAsync(ct).ConfigureAwait(false))
            {
                return (IReadOnlyList<string>)[];
            }

            var contexts = await n.MetaContextsAsync(set: false, o.ExportName, queries ?? [], ct).ConfigureAwait(false);
            return [.. contexts.Values];
        }, cancellationToken).ConfigureAwait(false);
    }

    /// <summary><c>NBD_CMD_READ</c>: fills <paramref name="buffer"/> from <paramref name="offset"/>.</summary>
    public ValueTask ReadAsync(long offset, Memory<byte> buffer, CancellationToken cancellationToken = default)
    {
        CheckRange(offset, buffer.Length, NbdCommand.Read);
        if (buffer.IsEmpty)
        {
            return ValueTask.CompletedTask;
        }

        var max = Export.MaximumPayloadSize;
        if (buffer.Length <= max)
        {
            return new ValueTask(Pick().SendAsync(NbdCommand.Read, NbdCommandFlags.None, offset, (uint)buffer.Length,
                ReadOnlyMemory<byte>.Empty, buffer, cancellationToken));
        }

        return new ValueTask(Split(buffer.Length, max, (start, length) => Pick().SendAsync(NbdCommand.Read, NbdCommandFlags.None,
            offset + start, (uint)length, ReadOnlyMemory<byte>.Empty, buffer.Slice((int)start, (int)length), cancellationToken)));
    }

    /// <summary><c>NBD_CMD_WRITE</c>: writes <paramref name="data"/> at <paramref name="offset"/>; <see cref="NbdCommandFlags.Fua"/> is the only flag allowed.</summary>
    public ValueTask WriteAsync(long offset, ReadOnlyMemory<byte> data, NbdCommandFlags flags = NbdCommandFlags.None, CancellationToken cancellationToken = default)
    {
        CheckRange(offset, data.Length, NbdCommand.Write);
        CheckWritable(NbdCommand.Write);
        CheckFlags(flags, NbdCommandFlags.Fua, NbdCommand.Write);
        if (data.IsEmpty)
        {
            return ValueTask.CompletedTask;
        }

        var max = Export.MaximumPayloadSize;
        if (data.Length <= max)
        {
            return new ValueTask(Pick().SendAsync(NbdCommand.Write, flags, offset, (uint)data.Length, data, Memory<byte>.Empty, cancellationToken));
        }

        return new ValueTask(Split(data.Length, max, (start, length) => Pick().SendAsync(NbdCommand.Write, flags,
            offset + start, (uint)length, data.Slice((int)start, (int)length), Memory<byte>.Empty, cancellationToken)));
    }

    /// <summary>
    /// <c>NBD_CMD_WRITE_ZEROES</c>: makes the range read as zeroes. Flags: <see cref="NbdCommandFlags.Fua"/>,
    /// <see cref="NbdCommandFlags.NoHole"/> (allocate), <see cref="NbdCommandFlags.FastZero"/> (fail with
    /// <see cref="NbdError.ENOTSUP"/> rather than be slow).
    /// </summary>
    public ValueTask WriteZeroesAsync(long offset, long length, NbdCommandFlags flags = NbdCommandFlags.None, CancellationToken cancellationToken = default)
    {
        CheckRange(offset, length, NbdCommand.WriteZeroes);
        CheckWritable(NbdCommand.WriteZeroes);
        CheckSupported(Export.CanWriteZeroes, NbdCommand.WriteZeroes, "NBD_FLAG_SEND_WRITE_ZEROES");
        CheckFlags(flags, NbdCommandFlags.Fua | NbdCommandFlags.NoHole | NbdCommandFlags.FastZero, NbdCommand.WriteZeroes);
        if ((flags & NbdCommandFlags.FastZero) != 0)
        {
            CheckSupported(Export.CanFastZero, NbdCommand.WriteZeroes, "NBD_FLAG_SEND_FAST_ZERO");
        }

        return RangeCommand(NbdCommand.WriteZeroes, flags, offset, length, cancellationToken);
    }

    /// <summary><c>NBD_CMD_TRIM</c>: the range's contents may be discarded. <see cref="NbdCommandFlags.Fua"/> is the only flag allowed.</summary>
    public ValueTask TrimAsync(long offset, long length, NbdCommandFlags flags = NbdCommandFlags.None, CancellationToken cancellationToken = default)
    {
        CheckRange(offset, length, NbdCommand.Trim);
        CheckWritable(NbdCommand.Trim);
        CheckSupported(Export.CanTrim, NbdCommand.Trim, "NBD_FLAG_SEND_TRIM");
        CheckFlags(flags, NbdCommandFlags.Fua, NbdCommand.Trim);
        return RangeCommand(NbdCommand.Trim, flags, offset, length, cancellationToken);
    }

    /// <summary><c>NBD_CMD_CACHE</c>: asks the server to prefetch the range.</summary>
    public ValueTask CacheAsync(long offset, long length, CancellationToken cancellationToken = default)
    {
        CheckRange(offset, length, NbdCommand.Cache);
        CheckSupported(Export.CanCache, NbdCommand.Cache, "NBD_FLAG_SEND_CACHE");
        return RangeCommand(NbdCommand.Cache, NbdCommandFlags.None, offset, length, cancellationToken);
    }

    /// <summary><c>NBD_CMD_FLUSH</c>: everything whose write completed before this call is on stable storage when it returns.</summary>
    public ValueTask FlushAsync(CancellationToken cancellationToken = default)
    {
        ObjectDisposedException.ThrowIf(Volatile.Read(ref _disposed) != 0, this);
        CheckSupported(Export.CanFlush, NbdCommand.Flush, "NBD_FLAG_SEND_FLUSH");
        return new ValueTask(Pick().SendAsync(NbdCommand.Flush, NbdCommandFlags.None, 0, 0, ReadOnlyMemory<byte>.Empty, Memory<byte>.Empty, cancellationToken));
    }

    /// <summary>
    /// <c>NBD_CMD_BLOCK_STATUS</c>: the extents of every negotiated meta context from <paramref name="offset"/>.
    /// The answer may cover less than <paramref name="length"/> (ask again from where it ends) and its last
    /// extent may run further. <see cref="NbdCommandFlags.RequestOne"/> asks for one extent per context.
    /// </summary>
    /// <exception cref="InvalidOperationException">No meta context was negotiated.</exception>
    public async ValueTask<NbdBlockStatus> BlockStatusAsync(long offset, long length, NbdCommandFlags flags = NbdCommandFlags.None, CancellationToken cancellationToken = default)
    {
        CheckRange(offset, length, NbdCommand.BlockStatus);
        CheckFlags(flags, NbdCommandFlags.RequestOne, NbdCommand.BlockStatus);
        if (Export.MetaContexts.Count == 0)
        {
            throw new InvalidOperationException(
                $"BLOCK_STATUS needs a meta context, and the server agreed to none of those asked for ({(Export.StructuredReplies ? "it supports structured replies" : "it does not support structured replies")}).");
        }

        if (length == 0)
        {
            throw new ArgumentOutOfRangeException(nameof(length), "BLOCK_STATUS needs a length of at least one byte.");
        }

        var ask = (uint)Math.Min(length, MaxBlockStatusRequest);
        var status = await Pick().SendAsync(NbdCommand.BlockStatus, flags, offset, ask, ReadOnlyMemory<byte>.Empty, Memory<byte>.Empty, cancellationToken).ConfigureAwait(false);
        return status!;
    }

    /// <summary>
    /// The extents of <paramref name="context"/> covering exactly [<paramref name="offset"/>, <paramref name="offset"/> +
    /// <paramref name="length"/>): as many <c>BLOCK_STATUS</c> requests as the server's answers need, each extent
    /// clipped to the range. Adjacent extents with the same flags are not merged.
    /// </summary>
    /// <exception cref="KeyNotFoundException">The context was not negotiated.</exception>
    /// <exception cref="NbdProtocolException">An answer made no progress (no extent for the context).</exception>
    public async IAsyncEnumerable<NbdExtent> GetExtentsAsync(string context, long offset, long length,
        [System.Runtime.CompilerServices.EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(context);
        CheckRange(offset, length, NbdCommand.BlockStatus);
        var end = offset + length;
        while (offset < end)
        {
            var status = await BlockStatusAsync(offset, end - offset, NbdCommandFlags.None, cancellationToken).ConfigureAwait(false);
            var asked = offset;
            foreach (var extent in status[context])
            {
                var stop = Math.Min(extent.End, end);
                if (stop <= offset)
                {
                    continue;
                }

                yield return new NbdExtent(offset, stop - offset, extent.Flags);
                offset = stop;
            }

            if (offset == asked)
            {
                throw new NbdProtocolException(string.Create(CultureInfo.InvariantCulture,
                    $"The server answered BLOCK_STATUS at offset {asked} with no extent for {context}."));
            }
        }
    }

    /// <summary>Waits for requests in flight (bounded), sends <c>NBD_CMD_DISC</c> on every connection, and closes them.</summary>
    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }

        await Task.WhenAll(_connections.Select(c => c.DisposeAsync().AsTask())).ConfigureAwait(false);
    }

    private ValueTask RangeCommand(NbdCommand command, NbdCommandFlags flags, long offset, long length, CancellationToken cancellationToken)
    {
        if (length == 0)
        {
            return ValueTask.CompletedTask;
        }

        if (length <= MaxNonPayloadRequest)
        {
            return new ValueTask(Pick().SendAsync(command, flags, offset, (uint)length, ReadOnlyMemory<byte>.Empty, Memory<byte>.Empty, cancellationToken));
        }

        return new ValueTask(Split(length, MaxNonPayloadRequest, (start, part) => Pick().SendAsync(command, flags, offset + start, (uint)part,
            ReadOnlyMemory<byte>.Empty, Memory<byte>.Empty, cancellationToken)));
    }

    private static Task Split(long total, long max, Func<long, long, Task> send)
    {
        var tasks = new List<Task>((int)((total + max - 1) / max));
        for (long start = 0; start < total; start += max)
        {
            tasks.Add(send(start, Math.Min(max, total - start)));
        }

        return Task.WhenAll(tasks);
    }

    private NbdConnection Pick()
    {
        ObjectDisposedException.ThrowIf(Volatile.Read(ref _disposed) != 0, this);
        var connections = _connections;
        if (connections.Length == 1)
        {
            return connections[0];
        }

        NbdConnection? best = null;
        foreach (var connection in connections)
        {
            if (!connection.IsFaulted && (best is null || connection.InFlight < best.InFlight))
            {
                best = connection;
            }
        }

        return best ?? connections[0];
    }

    private void CheckRange(long offset, long length, NbdCommand command)
    {
        ObjectDisposedException.ThrowIf(Volatile.Read(ref _disposed) != 0, this);
        if (offset < 0 || length < 0 || offset > Export.Size || length > Export.Size - offset)
        {
            throw new ArgumentOutOfRangeException(nameof(offset), string.Create(CultureInfo.InvariantCulture,
                $"{NbdException.CommandName(command)} at offset {offset} length {length} is outside export '{Export.Name}' of {Export.Size} bytes."));
        }

        var alignment = Export.MinimumBlockSize;
        if (alignment > 1 && ((offset % alignment) != 0 || (length % alignment) != 0))
        {
            throw new ArgumentException(string.Create(CultureInfo.InvariantCulture,
                $"{NbdException.CommandName(command)} at offset {offset} length {length} is not aligned to the export's minimum block size of {alignment} bytes."), nameof(offset));
        }
    }

    private void CheckWritable(NbdCommand command)
    {
        if (Export.IsReadOnly)
        {
            throw new NotSupportedException($"Export '{Export.Name}' is read-only; {NbdException.CommandName(command)} is not allowed.");
        }
    }

    private void CheckSupported(bool supported, NbdCommand command, string flag)
    {
        if (!supported)
        {
            throw new NotSupportedException($"Export '{Export.Name}' does not support {NbdException.CommandName(command)} (the server did not set {flag}).");
        }
    }

    private void CheckFlags(NbdCommandFlags flags, NbdCommandFlags allowed, NbdCommand command)
    {
        if ((flags & ~allowed) != 0)
        {
            throw new ArgumentException($"{NbdException.CommandName(command)} does not take the flags {flags & ~allowed}.", nameof(flags));
        }

        if ((flags & NbdCommandFlags.Fua) != 0)
        {
            CheckSupported(Export.CanFua, command, "NBD_FLAG_SEND_FUA");
        }
    }

    private static async Task<NbdConnection> OpenConnectionAsync(NbdClientOptions options, ILogger logger, CancellationToken cancellationToken)
    {
        return await WithHandshakeTimeoutAsync(options, async ct =>
        {
            var negotiator = await NbdNegotiator.StartAsync(options, ct).ConfigureAwait(false);
            await using (negotiator.ConfigureAwait(false))
            {
                var structured = options.StructuredReplies && await negotiator.NegotiateStructuredRepliesAsync(ct).ConfigureAwait(false);
                var contexts = structured && options.MetaContexts.Count > 0
                    ? await negotiator.MetaContextsAsync(set: true, options.ExportName, options.MetaContexts, ct).ConfigureAwait(false)
                    : [];
                var export = await negotiator.GoAsync(go: true, options.ExportName, [.. contexts.Values], ct).ConfigureAwait(false);
                var stream = negotiator.Detach();
                NbdClientLog.Connected(logger, export.Name, options.Endpoint.ToString(), export.Size, export.Flags,
                    export.MinimumBlockSize, export.PreferredBlockSize, export.MaximumPayloadSize, export.Tls ?? "off");
                return new NbdConnection(negotiator.Socket, stream, export, contexts, options, logger);
            }
        }, cancellationToken).ConfigureAwait(false);
    }

    private static Task<T> NegotiateOnlyAsync<T>(NbdClientOptions options, Func<NbdNegotiator, NbdClientOptions, CancellationToken, Task<T>> action, CancellationToken cancellationToken) =>
        WithHandshakeTimeoutAsync(options, async ct =>
        {
            var negotiator = await NbdNegotiator.StartAsync(options, ct).ConfigureAwait(false);
            await using (negotiator.ConfigureAwait(false))
            {
                var result = await action(negotiator, options, ct).ConfigureAwait(false);
                await negotiator.AbortAsync(ct).ConfigureAwait(false);
                return result;
            }
        }, cancellationToken);

    private static async Task<T> WithHandshakeTimeoutAsync<T>(NbdClientOptions options, Func<CancellationToken, Task<T>> action, CancellationToken cancellationToken)
    {
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        if (options.HandshakeTimeout != Timeout.InfiniteTimeSpan)
        {
            timeout.CancelAfter(options.HandshakeTimeout);
        }

        try
        {
            return await action(timeout.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested && timeout.IsCancellationRequested)
        {
            throw new NbdConnectionException(string.Create(CultureInfo.InvariantCulture,
                $"The handshake with the NBD server at {options.Endpoint} did not finish within {options.HandshakeTimeout.TotalSeconds:0.#} s."));
        }
    }
}
