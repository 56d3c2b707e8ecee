using System.Buffers;
using System.Buffers.Binary;
using System.Globalization;
using Microsoft.Extensions.Logging;
using Whitesky.Nbd.Protocol;

namespace Whitesky.Nbd.Server;

internal sealed partial class NbdServerConnection
{
    /// <summary>BLOCK_STATUS answers are capped; the client asks again from where one ends.</summary>
    private const int MaxDescriptors = 64 * 1024;

    private readonly byte[] _simpleReply = new byte[NbdWire.SimpleReplyHeaderSize];

    private async Task TransmitAsync(CancellationToken stopping)
    {
        var export = _export!;
        using var slots = new SemaphoreSlim(_options.MaxRequestsInFlight);
        var header = new byte[NbdWire.RequestHeaderSize];
        try
        {
            while (true)
            {
                await slots.WaitAsync(stopping).ConfigureAwait(false);
                if (!await ReadRequestHeaderAsync(header, stopping).ConfigureAwait(false))
                {
                    slots.Release();
                    return;
                }

                if (!NbdCodec.TryReadRequest(header, out var request))
                {
                    throw new NbdProtocolException(string.Create(CultureInfo.InvariantCulture,
                        $"request magic 0x{BinaryPrimitives.ReadUInt32BigEndian(header):x8}"));
                }

                if (request.Command == NbdCommand.Disconnect)
                {
                    slots.Release();
                    return;
                }

                byte[]? payload = null;
                long budget = 0;
                if (request.Command == NbdCommand.Write)
                {
                    if (request.Length > (uint)_options.MaxPayloadSize)
                    {
                        // The payload cannot be skipped safely: the connection goes.
                        throw new NbdProtocolException(string.Create(CultureInfo.InvariantCulture,
                            $"a WRITE of {request.Length} bytes (the maximum is {_options.MaxPayloadSize})"));
                    }

                    budget = await _server.Buffers.AcquireAsync(request.Length, stopping).ConfigureAwait(false);
                    payload = ArrayPool<byte>.Shared.Rent((int)request.Length);
                    try
                    {
                        await _stream.ReadExactlyAsync(payload.AsMemory(0, (int)request.Length), stopping).ConfigureAwait(false);
                    }
                    catch
                    {
                        ArrayPool<byte>.Shared.Return(payload);
                        _server.Buffers.Release(budget);
                        throw;
                    }
                }

                Interlocked.Increment(ref _inFlight);
                _ = ProcessAsync(export, request, payload, budget, slots);
            }
        }
        finally
        {
            await DrainAsync().ConfigureAwait(false);
        }
    }

    /// <summary>Reads the next request header; false when the client closed the connection between requests.</summary>
    private async Task<bool> ReadRequestHeaderAsync(byte[] header, CancellationToken stopping)
    {
        using var idle = _options.IdleTimeout == Timeout.InfiniteTimeSpan ? null : CancellationTokenSource.CreateLinkedTokenSource(stopping);
        idle?.CancelAfter(_options.IdleTimeout);
        var token = idle?.Token ?? stopping;
        try
        {
            var read = await _stream.ReadAtLeastAsync(header, header.Length, throwOnEndOfStream: false, token).ConfigureAwait(false);
            if (read == 0)
            {
                return false;
            }

            if (read < header.Length)
            {
                throw new NbdProtocolException("the connection closed in the middle of a request header");
            }

            return true;
        }
        catch (OperationCanceledException) when (idle?.IsCancellationRequested == true && !stopping.IsCancellationRequested)
        {
            throw new NbdProtocolException(string.Create(CultureInfo.InvariantCulture,
                $"no request for {_options.IdleTimeout.TotalSeconds:0.#} s (idle timeout)"));
        }
    }

    private async Task DrainAsync()
    {
        var drained = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);

        // A full fence: a volatile write followed by a volatile read may be reordered, and then the last request
        // could read no _drained while this reads its count as not yet zero, and the drain would wait forever.
        Interlocked.Exchange(ref _drained, drained);
        if (Volatile.Read(ref _inFlight) == 0)
        {
            return;
        }

        await drained.Task.ConfigureAwait(false);
    }

    private async Task ProcessAsync(NbdServerExport export, NbdRequestHeader request, byte[]? payload, long budget, SemaphoreSlim slots)
    {
        var error = NbdError.None;
        byte[]? readBuffer = null;
        IReadOnlyList<NbdExtent>? extents = null;
        try
        {
            error = Validate(export, request);
            if (error == NbdError.None)
            {
                var backend = export.Backend;
                var offset = (long)request.Offset;
                var fua = (request.Flags & NbdCommandFlags.Fua) != 0;
                switch (request.Command)
                {
                    case NbdCommand.Read:
                        budget = await _server.Buffers.AcquireAsync(request.Length, CancellationToken.None).ConfigureAwait(false);
                        readBuffer = ArrayPool<byte>.Shared.Rent(NbdWire.StructuredReplyHeaderSize + 8 + (int)request.Length);
                        await backend.ReadAsync(offset, readBuffer.AsMemory(NbdWire.StructuredReplyHeaderSize + 8, (int)request.Length), CancellationToken.None).ConfigureAwait(false);
                        break;
                    case NbdCommand.Write:
                        await backend.WriteAsync(offset, payload.AsMemory(0, (int)request.Length), fua, CancellationToken.None).ConfigureAwait(false);
                        NbdMetrics.ServerBytesWritten.Add(request.Length);
                        break;
                    case NbdCommand.WriteZeroes:
                        await backend.WriteZeroesAsync(offset, request.Length, (request.Flags & NbdCommandFlags.NoHole) == 0,
                            (request.Flags & NbdCommandFlags.FastZero) != 0, fua, CancellationToken.None).ConfigureAwait(false);
                        break;
                    case NbdCommand.Trim:
                        await backend.TrimAsync(offset, request.Length, fua, CancellationToken.None).ConfigureAwait(false);
                        break;
                    case NbdCommand.Flush:
                        await backend.FlushAsync(CancellationToken.None).ConfigureAwait(false);
                        break;
                    case NbdCommand.Cache:
                        await backend.CacheAsync(offset, request.Length, CancellationToken.None).ConfigureAwait(false);
                        break;
                    case NbdCommand.BlockStatus:
                        extents = await AllocationAsync(backend, offset, request.Length, (request.Flags & NbdCommandFlags.RequestOne) != 0).ConfigureAwait(false);
                        break;
                }
            }
        }
        catch (NbdBackendException ex)
        {
            error = ex.BackendError == NbdError.None ? NbdError.EIO : ex.BackendError;
        }
        catch (IOException ex)
        {
            // On Unix an IOException's HResult is the errno.
            error = ex.HResult == 28 ? NbdError.ENOSPC : NbdError.EIO;
            LogBackendFailed(_logger, NbdException.CommandName(request.Command), (long)request.Offset, request.Length, ex.Message);
        }
        catch (Exception ex) when (ex is not OutOfMemoryException)
        {
            error = NbdError.EIO;
            LogBackendFailed(_logger, NbdException.CommandName(request.Command), (long)request.Offset, request.Length, ex.Message);
        }
        finally
        {
            if (payload is not null)
            {
                ArrayPool<byte>.Shared.Return(payload);
            }
        }

        try
        {
            await SendReplyAsync(request, error, readBuffer, extents).ConfigureAwait(false);
            if (error == NbdError.None && request.Command == NbdCommand.Read)
            {
                NbdMetrics.ServerBytesRead.Add(request.Length);
            }
        }
        catch (Exception ex) when (ex is IOException or ObjectDisposedException or System.Net.Sockets.SocketException or OperationCanceledException)
        {
            // The client went away; the reader notices and closes.
        }
        finally
        {
            if (readBuffer is not null)
            {
                ArrayPool<byte>.Shared.Return(readBuffer);
            }

            if (budget > 0)
            {
                _server.Buffers.Release(budget);
            }

            NbdMetrics.ServerRequests.Add(1, new KeyValuePair<string, object?>("command", NbdException.CommandName(request.Command)));
            if (_server.ObservesCommands)
            {
                _server.OnCommandCompleted(new NbdServerCommandEventArgs(Id, export.Name, request.Command, (long)request.Offset, request.Length, error));
            }

            slots.Release();
            if (Interlocked.Decrement(ref _inFlight) == 0)
            {
                Volatile.Read(ref _drained)?.TrySetResult();
            }
        }
    }

    private NbdError Validate(NbdServerExport export, NbdRequestHeader request)
    {
        var size = export.Backend.Size;
        var readOnly = IsReadOnly(export);
        var writes = request.Command is NbdCommand.Write or NbdCommand.WriteZeroes or NbdCommand.Trim;
        var allowed = request.Command switch
        {
            NbdCommand.Read => NbdCommandFlags.DontFragment,
            NbdCommand.Write or NbdCommand.Trim => NbdCommandFlags.Fua,
            NbdCommand.WriteZeroes => NbdCommandFlags.Fua | NbdCommandFlags.NoHole | NbdCommandFlags.FastZero,
            NbdCommand.BlockStatus => NbdCommandFlags.RequestOne,
            NbdCommand.Flush or NbdCommand.Cache => NbdCommandFlags.None,
            _ => (NbdCommandFlags?)null,
        };
        if (allowed is null || (request.Flags & ~allowed.Value) != 0)
        {
            return NbdError.EINVAL;
        }

        if (writes && readOnly)
        {
            return NbdError.EPERM;
        }

        if ((request.Command == NbdCommand.Trim && !export.Backend.CanTrim)
            || ((request.Flags & NbdCommandFlags.FastZero) != 0 && !export.Backend.CanFastZero)
            || (request.Command == NbdCommand.BlockStatus && (!_structured || !_baseAllocation))
            || ((request.Flags & NbdCommandFlags.DontFragment) != 0 && !_structured))
        {
            return NbdError.EINVAL;
        }

        if (request.Command == NbdCommand.Flush)
        {
            return NbdError.None;
        }

        if (request.Length == 0 || (request.Command == NbdCommand.Read && request.Length > (uint)_options.MaxPayloadSize))
        {
            return NbdError.EINVAL;
        }

        if (request.Offset > (ulong)size || request.Length > (ulong)size - request.Offset)
        {
            return writes ? NbdError.ENOSPC : NbdError.EINVAL;
        }

        var minimum = (ulong)Math.Max(1, export.Backend.MinimumBlockSize);
        if (minimum > 1 && (request.Offset % minimum != 0 || request.Length % minimum != 0))
        {
            return NbdError.EINVAL;
        }

        return NbdError.None;
    }

    private static async Task<IReadOnlyList<NbdExtent>> AllocationAsync(NbdBackend backend, long offset, uint length, bool one)
    {
        if (!backend.CanReportAllocation)
        {
            return [new NbdExtent(offset, length, 0)];
        }

        var reported = await backend.GetAllocationAsync(offset, length, CancellationToken.None).ConfigureAwait(false);
        var result = new List<NbdExtent>(Math.Min(reported.Count, MaxDescriptors));
        var position = offset;
        var end = offset + length;
        foreach (var extent in reported)
        {
            if (extent.Offset != position || extent.Length <= 0)
            {
                throw new NbdBackendException(NbdError.EIO, "the backend reported allocation that is not consecutive");
            }

            var clipped = Math.Min(extent.Length, end - position);
            if (result.Count > 0 && result[^1].Flags == extent.Flags)
            {
                result[^1] = result[^1] with { Length = result[^1].Length + clipped };
            }
            else
            {
                result.Add(new NbdExtent(position, clipped, extent.Flags));
            }

            position += clipped;
            if (position >= end || result.Count == MaxDescriptors || (one && result.Count == 1))
            {
                break;
            }
        }

        if (result.Count == 0)
        {
            throw new NbdBackendException(NbdError.EIO, "the backend reported no allocation");
        }

        return one ? [result[0]] : result;
    }

    private async Task SendReplyAsync(NbdRequestHeader request, NbdError error, byte[]? readBuffer, IReadOnlyList<NbdExtent>? extents)
    {
        await _writeLock.WaitAsync().ConfigureAwait(false);
        try
        {
            if (error != NbdError.None)
            {
                if (_structured && request.Command == NbdCommand.Read)
                {
                    var chunk = new byte[NbdWire.StructuredReplyHeaderSize + 6];
                    NbdCodec.WriteChunk(chunk, new NbdChunkHeader(NbdWire.NBD_REPLY_FLAG_DONE, NbdWire.NBD_REPLY_TYPE_ERROR, request.Cookie, 6));
                    BinaryPrimitives.WriteUInt32BigEndian(chunk.AsSpan(NbdWire.StructuredReplyHeaderSize), (uint)error);
                    await _stream.WriteAsync(chunk).ConfigureAwait(false);
                }
                else
                {
                    await WriteSimpleReplyAsync(request.Cookie, error).ConfigureAwait(false);
                }
            }
            else if (request.Command == NbdCommand.Read)
            {
                var buffer = readBuffer!;
                if (_structured)
                {
                    NbdCodec.WriteChunk(buffer, new NbdChunkHeader(NbdWire.NBD_REPLY_FLAG_DONE, NbdWire.NBD_REPLY_TYPE_OFFSET_DATA, request.Cookie, 8 + request.Length));
                    BinaryPrimitives.WriteUInt64BigEndian(buffer.AsSpan(NbdWire.StructuredReplyHeaderSize), request.Offset);
                    await _stream.WriteAsync(buffer.AsMemory(0, NbdWire.StructuredReplyHeaderSize + 8 + (int)request.Length)).ConfigureAwait(false);
                }
                else
                {
                    // The data sits after a 28-byte gap; the 16-byte simple header goes right before it.
                    var start = NbdWire.StructuredReplyHeaderSize + 8 - NbdWire.SimpleReplyHeaderSize;
                    NbdCodec.WriteSimpleReply(buffer.AsSpan(start), new NbdSimpleReplyHeader(0, request.Cookie));
                    await _stream.WriteAsync(buffer.AsMemory(start, NbdWire.SimpleReplyHeaderSize + (int)request.Length)).ConfigureAwait(false);
                }
            }
            else if (request.Command == NbdCommand.BlockStatus)
            {
                var list = extents!;
                var length = 4 + (8 * list.Count);
                var chunk = new byte[NbdWire.StructuredReplyHeaderSize + length];
                NbdCodec.WriteChunk(chunk, new NbdChunkHeader(NbdWire.NBD_REPLY_FLAG_DONE, NbdWire.NBD_REPLY_TYPE_BLOCK_STATUS, request.Cookie, (uint)length));
                var span = chunk.AsSpan(NbdWire.StructuredReplyHeaderSize);
                BinaryPrimitives.WriteUInt32BigEndian(span, BaseAllocationContextId);
                for (var i = 0; i < list.Count; i++)
                {
                    BinaryPrimitives.WriteUInt32BigEndian(span[(4 + (8 * i))..], (uint)list[i].Length);
                    BinaryPrimitives.WriteUInt32BigEndian(span[(8 + (8 * i))..], list[i].Flags);
                }

                await _stream.WriteAsync(chunk).ConfigureAwait(false);
            }
            else
            {
                await WriteSimpleReplyAsync(request.Cookie, NbdError.None).ConfigureAwait(false);
            }

            await _stream.FlushAsync().ConfigureAwait(false);
        }
        finally
        {
            _writeLock.Release();
        }
    }

    /// <summary>Writes a simple reply from the connection's reply buffer; the caller holds the write lock.</summary>
    private async Task WriteSimpleReplyAsync(ulong cookie, NbdError error)
    {
        NbdCodec.WriteSimpleReply(_simpleReply, new NbdSimpleReplyHeader((uint)error, cookie));
        await _stream.WriteAsync(_simpleReply).ConfigureAwait(false);
    }

    [LoggerMessage(EventId = 102, Level = LogLevel.Warning, Message = "NBD backend failed {Command} at offset {Offset} length {Length}: {Reason}")]
    private static partial void LogBackendFailed(ILogger logger, string command, long offset, uint length, string reason);
}
