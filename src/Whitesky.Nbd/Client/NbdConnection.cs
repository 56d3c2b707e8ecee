using System.Buffers;
using System.Buffers.Binary;
using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using System.Net.Security;
using System.Net.Sockets;
using Microsoft.Extensions.Logging;
using Whitesky.Nbd.Protocol;

namespace Whitesky.Nbd.Client;

/// <summary>
/// One NBD connection in the transmission phase. Any number of callers may issue requests at once:
/// writes to the socket are serialised, replies are read by one dedicated reader thread and matched
/// by cookie, in any order. Everything the server sends is validated; a violation or a lost
/// connection fails every pending request and closes the connection.
/// </summary>
internal sealed class NbdConnection : IAsyncDisposable
{
    private const int ReceiveBufferSize = 256 * 1024;
    private const int CoalesceLimit = 64 * 1024;

    /// <summary>Spec: a server SHOULD NOT send more than 2^20 descriptors in one chunk. We refuse more.</summary>
    private const int MaxBlockStatusDescriptors = 1 << 20;

    private readonly Socket _socket;
    private readonly Stream _stream;
    private readonly NbdExportInfo _export;
    private readonly Dictionary<uint, string> _contexts;
    private readonly bool _structured;
    private readonly TimeSpan _requestTimeout;
    private readonly string _endpoint;
    private readonly ILogger _logger;
    private readonly SemaphoreSlim _writeLock = new(1, 1);
    private readonly SemaphoreSlim _slots;
    private readonly ConcurrentDictionary<ulong, NbdPendingRequest> _pending = new();
    private readonly byte[] _txBuffer = new byte[CoalesceLimit];
    private readonly byte[] _rx = new byte[ReceiveBufferSize];
    private readonly Thread _reader;
    private readonly TaskCompletionSource _readerDone = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly TaskCompletionSource _drained = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private int _rxStart;
    private int _rxEnd;
    private long _nextCookie;
    private int _inFlight;
    private int _disposed;
    private volatile Exception? _failure;
    private long _lastReply = Stopwatch.GetTimestamp();

    public NbdConnection(Socket socket, Stream stream, NbdExportInfo export, Dictionary<uint, string> contexts,
        NbdClientOptions options, ILogger logger)
    {
        _socket = socket;
        _stream = stream;
        _export = export;
        _contexts = contexts;
        _structured = export.StructuredReplies;
        _requestTimeout = options.RequestTimeout;
        _endpoint = options.Endpoint.ToString();
        _logger = logger;
        _slots = new SemaphoreSlim(options.MaxRequestsInFlight);
        _reader = new Thread(ReaderLoop) { IsBackground = true, Name = "NBD reader " + _endpoint };
        _reader.Start();
    }

    public NbdExportInfo Export => _export;

    /// <summary>Requests sent or waiting to be sent on this connection.</summary>
    public int InFlight => Volatile.Read(ref _inFlight);

    public bool IsFaulted => _failure is not null;

    /// <summary>Sends one request and waits for its reply. The payload is sent whole or the connection is failed.</summary>
    public async Task<NbdBlockStatus?> SendAsync(NbdCommand command, NbdCommandFlags flags, long offset, uint length,
        ReadOnlyMemory<byte> payload, Memory<byte> readBuffer, CancellationToken cancellationToken)
    {
        ThrowIfUnusable();
        Interlocked.Increment(ref _inFlight);
        try
        {
            await WaitForSlotAsync(command, offset, length, cancellationToken).ConfigureAwait(false);
        }
        catch
        {
            Interlocked.Decrement(ref _inFlight);
            throw;
        }

        var request = new NbdPendingRequest(command, flags, offset, length, readBuffer)
        {
            Cookie = (ulong)Interlocked.Increment(ref _nextCookie),
        };
        _pending[request.Cookie] = request;
        try
        {
            ThrowIfUnusable();
            await _writeLock.WaitAsync(cancellationToken).ConfigureAwait(false);
        }
        catch
        {
            Retire(request);
            throw;
        }

        try
        {
            ThrowIfUnusable();

            // Marked before the write: the reply can arrive before WriteAsync returns.
            request.Sent = true;
            await WriteRequestAsync(request, payload).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is not NbdException)
        {
            var failure = Fail(new NbdConnectionException(
                $"Sending {request.Describe()} to the NBD server at {_endpoint} failed: {ex.Message}", ex));
            throw failure;
        }
        finally
        {
            _writeLock.Release();
        }

        NbdMetrics.Requests.Add(1, new KeyValuePair<string, object?>("command", NbdException.CommandName(command)));
        return await WaitForReplyAsync(request, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// Waits for an in-flight slot. A request that timed out keeps its slot until the server answers it, so
    /// once the server has answered nothing for a whole request timeout, waiting longer would hang for ever.
    /// </summary>
    private async Task WaitForSlotAsync(NbdCommand command, long offset, uint length, CancellationToken cancellationToken)
    {
        if (_requestTimeout == Timeout.InfiniteTimeSpan)
        {
            await _slots.WaitAsync(cancellationToken).ConfigureAwait(false);
            return;
        }

        var wait = TimeSpan.FromMilliseconds(Math.Min(_requestTimeout.TotalMilliseconds, int.MaxValue));
        while (!await _slots.WaitAsync(wait, cancellationToken).ConfigureAwait(false))
        {
            ThrowIfUnusable();
            if (Stopwatch.GetElapsedTime(Volatile.Read(ref _lastReply)) >= _requestTimeout)
            {
                throw new NbdConnectionException(string.Create(CultureInfo.InvariantCulture,
                    $"{NbdException.CommandName(command)} at offset {offset} length {length} could not be sent: every request slot is held by a request the NBD server at {_endpoint} has not answered, and it has answered nothing for {_requestTimeout.TotalSeconds:0.#} s."));
            }
        }
    }

    private async Task<NbdBlockStatus?> WaitForReplyAsync(NbdPendingRequest request, CancellationToken cancellationToken)
    {
        if (!cancellationToken.CanBeCanceled && _requestTimeout == Timeout.InfiniteTimeSpan)
        {
            return await request.Task.ConfigureAwait(false);
        }

        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        if (_requestTimeout != Timeout.InfiniteTimeSpan)
        {
            timeout.CancelAfter(_requestTimeout);
        }

        using var registration = timeout.Token.UnsafeRegister(static state => ((NbdPendingRequest)state!).Abandon(), request);
        try
        {
            return await request.Task.ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested && timeout.IsCancellationRequested)
        {
            throw new NbdConnectionException(string.Create(CultureInfo.InvariantCulture,
                $"The NBD server at {_endpoint} did not answer {request.Describe()} within {_requestTimeout.TotalSeconds:0.#} s."));
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            throw new OperationCanceledException(cancellationToken);
        }
    }

    private async ValueTask WriteRequestAsync(NbdPendingRequest request, ReadOnlyMemory<byte> payload)
    {
        NbdCodec.WriteRequest(_txBuffer, new NbdRequestHeader(request.Flags, request.Command, request.Cookie, (ulong)request.Offset, request.Length));

        // Once the header is out, the payload must follow whole: the caller's cancellation is not honoured
        // here; a failure fails the connection instead, which also unblocks this write. A server that stops
        // reading would block it for ever, so the request timeout bounds it (and fails the connection too).
        using var stalled = _requestTimeout == Timeout.InfiniteTimeSpan ? null : new CancellationTokenSource(_requestTimeout);
        var token = stalled?.Token ?? CancellationToken.None;

        // Streams whose writes block in the socket (TLS-PSK) do not watch the token once started: failing
        // the connection closes the socket, which ends such a write too.
        using var unblock = token.UnsafeRegister(static state => ((NbdConnection)state!).FailStalledWrite(), this);
        try
        {
            if (NbdWire.RequestHeaderSize + payload.Length <= CoalesceLimit)
            {
                payload.Span.CopyTo(_txBuffer.AsSpan(NbdWire.RequestHeaderSize));
                await _stream.WriteAsync(_txBuffer.AsMemory(0, NbdWire.RequestHeaderSize + payload.Length), token).ConfigureAwait(false);
            }
            else
            {
                await _stream.WriteAsync(_txBuffer.AsMemory(0, NbdWire.RequestHeaderSize), token).ConfigureAwait(false);
                await _stream.WriteAsync(payload, token).ConfigureAwait(false);
            }

            await _stream.FlushAsync(token).ConfigureAwait(false);
        }
        catch (OperationCanceledException ex) when (stalled?.IsCancellationRequested == true)
        {
            throw new IOException(string.Create(CultureInfo.InvariantCulture,
                $"the server did not take it within {_requestTimeout.TotalSeconds:0.#} s (it stopped reading)"), ex);
        }

        if (!payload.IsEmpty)
        {
            NbdMetrics.BytesWritten.Add(payload.Length);
        }
    }

    private void FailStalledWrite() => Fail(new NbdConnectionException(string.Create(CultureInfo.InvariantCulture,
        $"The NBD server at {_endpoint} stopped reading requests: a request could not be sent within {_requestTimeout.TotalSeconds:0.#} s, so the connection was closed.")));

    /// <summary>Removes a request that ended (answered, or never sent) and frees its slot.</summary>
    private bool Retire(NbdPendingRequest request)
    {
        if (!_pending.TryRemove(new KeyValuePair<ulong, NbdPendingRequest>(request.Cookie, request)))
        {
            return false;
        }

        Interlocked.Decrement(ref _inFlight);
        _slots.Release();
        if (_pending.IsEmpty && Volatile.Read(ref _disposed) != 0)
        {
            _drained.TrySetResult();
        }

        return true;
    }

    private void ThrowIfUnusable()
    {
        if (_failure is { } failure)
        {
            throw failure is NbdException nbd ? Rethrowable(nbd) : new NbdConnectionException(failure.Message, failure);
        }

        ObjectDisposedException.ThrowIf(Volatile.Read(ref _disposed) != 0, this);
    }

    /// <summary>A fresh exception per caller (exceptions are not shared between awaiting callers' stacks).</summary>
    private static NbdException Rethrowable(NbdException failure) => failure switch
    {
        NbdProtocolException => new NbdProtocolException(failure.Message, failure),
        _ => new NbdConnectionException(failure.Message, failure),
    };

    /// <summary>Marks the connection failed, fails every pending request, closes the socket. Returns the failure in force.</summary>
    private Exception Fail(Exception failure)
    {
        var first = Interlocked.CompareExchange(ref _failure, failure, null);
        var effective = first ?? failure;
        if (first is null)
        {
            if (Volatile.Read(ref _disposed) == 0)
            {
                NbdClientLog.ConnectionFailed(_logger, _endpoint, _pending.Count, effective.Message);
            }

            try
            {
                _socket.Shutdown(SocketShutdown.Both);
            }
            catch (SocketException)
            {
            }
            catch (ObjectDisposedException)
            {
            }

            _socket.Dispose();
        }

        foreach (var request in _pending.Values)
        {
            if (Retire(request))
            {
                request.Fail(effective is NbdException nbd ? Rethrowable(nbd) : effective);
            }
        }

        return effective;
    }

    // ---------------------------------------------------------------------------------------------
    // Reader thread

    private void ReaderLoop()
    {
        try
        {
            while (true)
            {
                Fill(4, atMessageStart: true);
                var magic = BinaryPrimitives.ReadUInt32BigEndian(_rx.AsSpan(_rxStart));
                if (magic == NbdWire.NBD_SIMPLE_REPLY_MAGIC)
                {
                    HandleSimpleReply();
                }
                else if (magic == NbdWire.NBD_STRUCTURED_REPLY_MAGIC && _structured)
                {
                    HandleStructuredChunk();
                }
                else
                {
                    throw new NbdProtocolException(string.Create(CultureInfo.InvariantCulture,
                        $"The NBD server at {_endpoint} sent a reply with bad magic 0x{magic:x8}{(magic == NbdWire.NBD_STRUCTURED_REPLY_MAGIC ? " (a structured reply, which was not negotiated)" : string.Empty)}."));
                }

                Volatile.Write(ref _lastReply, Stopwatch.GetTimestamp());
            }
        }
        catch (CleanEndOfStream) when (_pending.IsEmpty || Volatile.Read(ref _disposed) != 0)
        {
            Fail(new NbdConnectionException($"The NBD server at {_endpoint} closed the connection."));
        }
        catch (CleanEndOfStream)
        {
            Fail(new NbdConnectionException(string.Create(CultureInfo.InvariantCulture,
                $"The NBD server at {_endpoint} closed the connection with {_pending.Count} request(s) unanswered.")));
        }
        catch (NbdException ex)
        {
            Fail(ex);
        }
        catch (Exception ex) when (ex is IOException or SocketException or ObjectDisposedException)
        {
            Fail(new NbdConnectionException(string.Create(CultureInfo.InvariantCulture,
                $"The connection to the NBD server at {_endpoint} was lost with {_pending.Count} request(s) unanswered: {ex.Message}"), ex));
        }
        catch (Exception ex)
        {
            Fail(new NbdProtocolException($"Reading from the NBD server at {_endpoint} failed unexpectedly: {ex.Message}", ex));
        }
        finally
        {
            _readerDone.TrySetResult();
        }
    }

    private void HandleSimpleReply()
    {
        Fill(NbdWire.SimpleReplyHeaderSize, atMessageStart: false);
        var (error, cookie) = NbdCodec.ReadSimpleReply(_rx.AsSpan(_rxStart, NbdWire.SimpleReplyHeaderSize));
        _rxStart += NbdWire.SimpleReplyHeaderSize;
        var request = Lookup(cookie, "simple reply");

        if (_structured && request.Command == NbdCommand.Read)
        {
            throw Violation(request, "a simple reply to READ, although structured replies were negotiated");
        }

        if (error != 0)
        {
            request.Error = new NbdException((NbdError)error, request.Command, request.Offset, request.Length);
        }
        else if (request.Command == NbdCommand.BlockStatus)
        {
            throw Violation(request, "a simple success reply to BLOCK_STATUS, which needs a status chunk per context");
        }
        else if (request.Command == NbdCommand.Read)
        {
            request.TryAddReadRange(0, request.Length);
            ConsumePayload(request, (int)request.Length, 0);
        }

        Complete(request);
    }

    private void HandleStructuredChunk()
    {
        Fill(NbdWire.StructuredReplyHeaderSize, atMessageStart: false);
        var chunk = NbdCodec.ReadChunk(_rx.AsSpan(_rxStart, NbdWire.StructuredReplyHeaderSize));
        _rxStart += NbdWire.StructuredReplyHeaderSize;
        var (type, length, done) = (chunk.Type, chunk.Length, chunk.IsDone);
        var request = Lookup(chunk.Cookie, "structured reply chunk");

        switch (type)
        {
            case NbdWire.NBD_REPLY_TYPE_NONE:
                if (length != 0 || !done)
                {
                    throw Violation(request, string.Create(CultureInfo.InvariantCulture,
                        $"NBD_REPLY_TYPE_NONE with length {length} and {(done ? "" : "without ")}the DONE flag"));
                }

                break;
            case NbdWire.NBD_REPLY_TYPE_OFFSET_DATA:
                HandleOffsetData(request, length);
                break;
            case NbdWire.NBD_REPLY_TYPE_OFFSET_HOLE:
                HandleOffsetHole(request, length);
                break;
            case NbdWire.NBD_REPLY_TYPE_BLOCK_STATUS:
                HandleBlockStatus(request, length);
                break;
            default:
                if ((type & NbdWire.NBD_REPLY_TYPE_ERROR_BIT) != 0)
                {
                    HandleErrorChunk(request, type, length);
                    break;
                }

                throw Violation(request, string.Create(CultureInfo.InvariantCulture, $"an unknown reply chunk type {type}"));
        }

        if (done)
        {
            Complete(request);
        }
    }

    private void HandleOffsetData(NbdPendingRequest request, uint length)
    {
        if (request.Command != NbdCommand.Read)
        {
            throw Violation(request, "NBD_REPLY_TYPE_OFFSET_DATA for a command that is not READ");
        }

        if (length <= 8 || length - 8 > request.Length)
        {
            throw Violation(request, string.Create(CultureInfo.InvariantCulture,
                $"NBD_REPLY_TYPE_OFFSET_DATA of {length} bytes (must carry 1 to {request.Length} data bytes after its offset)"));
        }

        var offset = ReadUInt64();
        var dataLength = length - 8;
        var relative = ChunkOffset(request, offset, dataLength, "NBD_REPLY_TYPE_OFFSET_DATA");
        if (!request.TryAddReadRange(relative, relative + dataLength))
        {
            throw Violation(request, "READ chunks that overlap (more data than the request asked for) or are too many");
        }

        ConsumePayload(request, (int)dataLength, (int)relative);
        NbdMetrics.BytesRead.Add(dataLength);
    }

    private void HandleOffsetHole(NbdPendingRequest request, uint length)
    {
        if (request.Command != NbdCommand.Read)
        {
            throw Violation(request, "NBD_REPLY_TYPE_OFFSET_HOLE for a command that is not READ");
        }

        if (length != 12)
        {
            throw Violation(request, string.Create(CultureInfo.InvariantCulture, $"NBD_REPLY_TYPE_OFFSET_HOLE of {length} bytes (must be 12)"));
        }

        var offset = ReadUInt64();
        var holeLength = ReadUInt32();
        if (holeLength == 0)
        {
            throw Violation(request, "an empty NBD_REPLY_TYPE_OFFSET_HOLE");
        }

        var relative = ChunkOffset(request, offset, holeLength, "NBD_REPLY_TYPE_OFFSET_HOLE");
        if (!request.TryAddReadRange(relative, relative + holeLength))
        {
            throw Violation(request, "READ chunks that overlap (more data than the request asked for) or are too many");
        }

        request.ZeroBuffer((int)relative, (int)holeLength);
    }

    /// <summary>Checks that [offset, offset + length) lies inside the request (unsigned-overflow safe) and returns it relative to the request.</summary>
    private long ChunkOffset(NbdPendingRequest request, ulong offset, uint length, string what)
    {
        var start = (ulong)request.Offset;
        if (offset < start || offset - start > request.Length || length > request.Length - (offset - start))
        {
            throw Violation(request, string.Create(CultureInfo.InvariantCulture,
                $"{what} for offset {offset} length {length}, outside the request"));
        }

        return (long)(offset - start);
    }

    private void HandleBlockStatus(NbdPendingRequest request, uint length)
    {
        if (request.Command != NbdCommand.BlockStatus)
        {
            throw Violation(request, "NBD_REPLY_TYPE_BLOCK_STATUS for a command that is not BLOCK_STATUS");
        }

        if (length < 12 || (length - 4) % 8 != 0 || (length - 4) / 8 > MaxBlockStatusDescriptors)
        {
            throw Violation(request, string.Create(CultureInfo.InvariantCulture,
                $"NBD_REPLY_TYPE_BLOCK_STATUS of {length} bytes (must be 4 + 8n with 1 <= n <= 2^20)"));
        }

        var contextId = ReadUInt32();
        if (!_contexts.TryGetValue(contextId, out var context))
        {
            throw Violation(request, string.Create(CultureInfo.InvariantCulture, $"block status for meta context id {contextId}, which was not negotiated"));
        }

        if (request.HasExtents(context))
        {
            throw Violation(request, $"two block status chunks for context '{context}'");
        }

        var count = (int)((length - 4) / 8);
        if ((request.Flags & NbdCommandFlags.RequestOne) != 0 && count != 1)
        {
            throw Violation(request, string.Create(CultureInfo.InvariantCulture, $"{count} descriptors although REQ_ONE asked for one"));
        }

        var extents = new NbdExtent[count];
        var position = request.Offset;
        long covered = 0;
        for (var i = 0; i < count; i++)
        {
            var extentLength = ReadUInt32();
            var status = ReadUInt32();
            if (extentLength == 0)
            {
                throw Violation(request, string.Create(CultureInfo.InvariantCulture, $"a zero-length block status descriptor (#{i} for '{context}')"));
            }

            if (covered >= request.Length)
            {
                throw Violation(request, $"block status descriptors for '{context}' that continue after the requested range was covered");
            }

            if ((request.Flags & NbdCommandFlags.RequestOne) != 0 && extentLength > request.Length)
            {
                throw Violation(request, "a REQ_ONE descriptor longer than the request");
            }

            // The final descriptor may run past the request, never past the export.
            var clipped = Math.Min(extentLength, _export.Size - position);
            if (clipped <= 0)
            {
                throw Violation(request, $"block status for '{context}' beyond the end of the export");
            }

            extents[i] = new NbdExtent(position, clipped, status);
            position += clipped;
            covered += extentLength;
        }

        request.AddExtents(context, extents);
    }

    private void HandleErrorChunk(NbdPendingRequest request, ushort type, uint length)
    {
        var maxLength = 6u + NbdWire.MaxStringLength + 8u;
        if (length < 6 || length > maxLength)
        {
            throw Violation(request, string.Create(CultureInfo.InvariantCulture, $"an error chunk of {length} bytes"));
        }

        var error = ReadUInt32();
        var messageLength = ReadUInt16();
        var rest = length - 6;
        if (messageLength > rest)
        {
            throw Violation(request, string.Create(CultureInfo.InvariantCulture, $"an error message of {messageLength} bytes in a {length}-byte chunk"));
        }

        var message = ReadString(messageLength);
        rest -= messageLength;
        long errorOffset = request.Offset;
        if (type == NbdWire.NBD_REPLY_TYPE_ERROR_OFFSET)
        {
            if (rest != 8)
            {
                throw Violation(request, "NBD_REPLY_TYPE_ERROR_OFFSET without its 8-byte offset");
            }

            var offset = ReadUInt64();
            // Spec: the offset MUST lie within the request, so the byte at it must: checked as a 1-byte range.
            errorOffset = request.Offset + ChunkOffset(request, offset, 1, "NBD_REPLY_TYPE_ERROR_OFFSET");
        }
        else
        {
            if (type == NbdWire.NBD_REPLY_TYPE_ERROR && rest != 0)
            {
                throw Violation(request, "NBD_REPLY_TYPE_ERROR with trailing bytes");
            }

            SkipPayload(rest);
        }

        if (error == 0)
        {
            throw Violation(request, "an error chunk with error value 0");
        }

        request.Error ??= new NbdException((NbdError)error, request.Command, errorOffset, request.Length, message.Length == 0 ? null : message);
    }

    private void Complete(NbdPendingRequest request)
    {
        if (request.Error is null)
        {
            if (request.Command == NbdCommand.Read && !request.ReadCoverageIsExact())
            {
                throw Violation(request, "READ chunks that do not cover the request exactly once");
            }

            if (request.Command == NbdCommand.BlockStatus && request.ExtentContexts != _contexts.Count)
            {
                throw Violation(request, string.Create(CultureInfo.InvariantCulture,
                    $"{request.ExtentContexts} block status chunk(s) for {_contexts.Count} negotiated context(s)"));
            }
        }

        Retire(request);
        if (request.Error is { } error)
        {
            NbdMetrics.Errors.Add(1);
            request.Fail(error);
        }
        else
        {
            request.Succeed();
        }
    }

    private NbdPendingRequest Lookup(ulong cookie, string what)
    {
        if (!_pending.TryGetValue(cookie, out var request) || !request.Sent)
        {
            throw new NbdProtocolException(string.Create(CultureInfo.InvariantCulture,
                $"The NBD server at {_endpoint} sent a {what} for cookie {cookie}, which belongs to no request in flight."));
        }

        return request;
    }

    private NbdProtocolException Violation(NbdPendingRequest request, string what)
    {
        var exception = new NbdProtocolException($"The NBD server at {_endpoint} broke the protocol answering {request.Describe()}: {what}.");
        if (Retire(request))
        {
            request.Fail(exception);
        }

        return exception;
    }

    // Buffered reading -----------------------------------------------------------------------------

    private sealed class CleanEndOfStream : Exception;

    /// <summary>Makes at least <paramref name="count"/> bytes available in the receive buffer.</summary>
    private void Fill(int count, bool atMessageStart)
    {
        if (_rxEnd - _rxStart >= count)
        {
            return;
        }

        if (_rxStart > 0)
        {
            Buffer.BlockCopy(_rx, _rxStart, _rx, 0, _rxEnd - _rxStart);
            _rxEnd -= _rxStart;
            _rxStart = 0;
        }

        while (_rxEnd < count)
        {
            var read = _stream.Read(_rx, _rxEnd, _rx.Length - _rxEnd);
            if (read == 0)
            {
                if (atMessageStart && _rxEnd == 0)
                {
                    throw new CleanEndOfStream();
                }

                throw new NbdProtocolException($"The NBD server at {_endpoint} closed the connection in the middle of a reply (truncated reply).");
            }

            _rxEnd += read;
        }
    }

    private void ConsumePayload(NbdPendingRequest request, int length, int bufferOffset)
    {
        while (length > 0)
        {
            if (_rxEnd == _rxStart)
            {
                _rxStart = _rxEnd = 0;
                Fill(1, atMessageStart: false);
            }

            var take = Math.Min(length, _rxEnd - _rxStart);
            request.CopyIntoBuffer(_rx.AsSpan(_rxStart, take), bufferOffset);
            _rxStart += take;
            bufferOffset += take;
            length -= take;
        }
    }

    private void SkipPayload(uint length)
    {
        while (length > 0)
        {
            if (_rxEnd == _rxStart)
            {
                _rxStart = _rxEnd = 0;
                Fill(1, atMessageStart: false);
            }

            var take = (int)Math.Min(length, (uint)(_rxEnd - _rxStart));
            _rxStart += take;
            length -= (uint)take;
        }
    }

    private ulong ReadUInt64()
    {
        Fill(8, atMessageStart: false);
        var value = BinaryPrimitives.ReadUInt64BigEndian(_rx.AsSpan(_rxStart));
        _rxStart += 8;
        return value;
    }

    private uint ReadUInt32()
    {
        Fill(4, atMessageStart: false);
        var value = BinaryPrimitives.ReadUInt32BigEndian(_rx.AsSpan(_rxStart));
        _rxStart += 4;
        return value;
    }

    private ushort ReadUInt16()
    {
        Fill(2, atMessageStart: false);
        var value = BinaryPrimitives.ReadUInt16BigEndian(_rx.AsSpan(_rxStart));
        _rxStart += 2;
        return value;
    }

    private string ReadString(int length)
    {
        if (length == 0)
        {
            return string.Empty;
        }

        Fill(length, atMessageStart: false);
        var text = System.Text.Encoding.UTF8.GetString(_rx, _rxStart, length);
        _rxStart += length;
        return text;
    }

    // Shutdown -------------------------------------------------------------------------------------

    /// <summary>Waits for requests in flight (bounded), sends <c>NBD_CMD_DISC</c>, and closes.</summary>
    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }

        if (_failure is null)
        {
            try
            {
                // Requests in flight, abandoned ones included, get their replies first (bounded): the server
                // is still working on them, and DISC must come after them.
                if (!_pending.IsEmpty)
                {
                    try
                    {
                        await _drained.Task.WaitAsync(TimeSpan.FromSeconds(10)).ConfigureAwait(false);
                    }
                    catch (TimeoutException)
                    {
                        // DISC is sent anyway; the server discards what it has not answered.
                    }
                }

                if (await _writeLock.WaitAsync(TimeSpan.FromSeconds(5)).ConfigureAwait(false))
                {
                    try
                    {
                        if (_failure is null)
                        {
                            var header = _txBuffer.AsMemory(0, NbdWire.RequestHeaderSize);
                            NbdCodec.WriteRequest(header.Span, new NbdRequestHeader(NbdCommandFlags.None, NbdCommand.Disconnect,
                                (ulong)Interlocked.Increment(ref _nextCookie), 0, 0));
                            using var send = new CancellationTokenSource(TimeSpan.FromSeconds(5));
                            await _stream.WriteAsync(header, send.Token).ConfigureAwait(false);
                            await _stream.FlushAsync(send.Token).ConfigureAwait(false);
                            if (_stream is SslStream tls)
                            {
                                // close_notify: the session ends cleanly on our side too.
                                await tls.ShutdownAsync().WaitAsync(send.Token).ConfigureAwait(false);
                            }
                        }
                    }
                    finally
                    {
                        _writeLock.Release();
                    }
                }

                // Nothing comes back after DISC and the client may close at once (the NBD spec; qemu does the
                // same): waiting for the server to close first cost 4-5 ms per copy against nbdkit. Shutting the
                // socket down ends the reader's blocking receive, so the stream is never disposed under it. (The
                // TLS-PSK stream can send close_notify only as part of closing; against nbdkit it never arrived before
                // either, the server having closed first.)
                _socket.Shutdown(SocketShutdown.Both);
                await _readerDone.Task.WaitAsync(TimeSpan.FromSeconds(5)).ConfigureAwait(false);
            }
            catch (Exception ex) when (ex is IOException or SocketException or ObjectDisposedException or OperationCanceledException or TimeoutException)
            {
                // Disconnecting from a server that is already gone is not an error.
            }
        }

        Fail(new NbdConnectionException($"The connection to the NBD server at {_endpoint} was closed by the client."));
        try
        {
            await _stream.DisposeAsync().ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is IOException or SocketException or ObjectDisposedException)
        {
        }

        _socket.Dispose();
    }
}
