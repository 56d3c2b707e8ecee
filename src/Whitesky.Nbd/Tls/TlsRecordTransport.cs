using System.Buffers.Binary;

namespace Whitesky.Nbd.Tls;

/// <summary>
/// The stream BouncyCastle's blocking TLS protocol reads records from and writes records to: it wraps
/// the connected socket stream and adds what the record layer lacks for bulk transfers.
/// </summary>
/// <remarks>
/// <para>
/// Reads are buffered: BouncyCastle asks for every record in two small reads (the 5-byte header, then
/// the fragment), which would be two system calls per 16 KiB record. Only TLS bytes are ever buffered
/// here: the transport is wrapped after the NBD server acknowledged <c>NBD_OPT_STARTTLS</c>, so no
/// plaintext that arrived before the upgrade can end up in this buffer.
/// <see cref="WaitForRecordAsync"/> lets an asynchronous reader wait for a whole record without holding
/// a thread, after which BouncyCastle's synchronous read finds everything it needs in memory.
/// </para>
/// <para>
/// Writes are batched while the application writer is inside <see cref="BeginBatch"/> /
/// <see cref="EndBatch"/>: BouncyCastle writes and flushes every record on its own, and a 2 MiB NBD
/// write would otherwise cost 128 socket sends. The AES-GCM cipher encrypts straight into the batch
/// buffer (<see cref="TryReserve"/>), so a record is never copied between encryption and the socket.
/// Writes from any other thread (an alert raised by the reader, close_notify) first send the records the
/// batch already holds, then go straight to the socket.
/// </para>
/// </remarks>
internal sealed class TlsRecordTransport : Stream
{
    /// <summary>Largest TLS record on the wire: 5-byte header and at most 2^14 + 256 bytes of TLSCiphertext.</summary>
    internal const int MaxRecordSize = 5 + 16384 + 256;

    /// <summary>Default size of the write batch: eight full records, about 130 KiB per socket send.</summary>
    internal const int DefaultWriteBatchSize = 8 * MaxRecordSize;

    private const int ReadBufferSize = 4 * MaxRecordSize;

    private readonly Stream _inner;
    private readonly byte[] _readBuffer = new byte[ReadBufferSize];
    private int _readStart;
    private int _readEnd;

    private readonly object _writeSync = new();
    private readonly byte[] _batch;
    private int _batchSent;
    private int _batchEnd;
    private int _batchOwner;
    private int _reservedOffset = -1;
    private int _reservedLength;

    private int _disposed;
    private volatile bool _aborted;

    /// <summary>Wraps a connected transport; <paramref name="writeBatchSize"/> bytes of records are sent per socket write.</summary>
    internal TlsRecordTransport(Stream inner, int writeBatchSize = DefaultWriteBatchSize)
    {
        ArgumentNullException.ThrowIfNull(inner);
        ArgumentOutOfRangeException.ThrowIfLessThan(writeBatchSize, MaxRecordSize);
        _inner = inner;
        _batch = new byte[writeBatchSize];
    }

    /// <summary>True once the peer closed its side of the connection (a read returned end of stream).</summary>
    internal bool SawEndOfStream { get; private set; }

    /// <summary>True once <see cref="Abort"/> closed the transport (a cancelled handshake).</summary>
    internal bool IsAborted => _aborted;

    /// <inheritdoc />
    public override bool CanRead => true;

    /// <inheritdoc />
    public override bool CanSeek => false;

    /// <inheritdoc />
    public override bool CanWrite => true;

    /// <inheritdoc />
    public override long Length => throw new NotSupportedException();

    /// <inheritdoc />
    public override long Position
    {
        get => throw new NotSupportedException();
        set => throw new NotSupportedException();
    }

    /// <summary>Closes the transport from any thread so that a blocked read or write fails at once.</summary>
    internal void Abort()
    {
        _aborted = true;
        Dispose();
    }

    /// <summary>Sets a bound on blocking writes to the transport when it supports one (used before close_notify).</summary>
    internal void TrySetWriteTimeout(int milliseconds)
    {
        try
        {
            if (_inner.CanTimeout)
            {
                _inner.WriteTimeout = milliseconds;
            }
        }
        catch (InvalidOperationException)
        {
            // Not every stream that reports CanTimeout lets the timeout be changed (or it is already closed).
        }
    }

    // ---- reading ----

    /// <inheritdoc />
    public override int Read(byte[] buffer, int offset, int count)
    {
        ValidateBufferArguments(buffer, offset, count);
        return Read(buffer.AsSpan(offset, count));
    }

    /// <inheritdoc />
    public override int Read(Span<byte> buffer)
    {
        if (buffer.IsEmpty)
        {
            return 0;
        }

        if (_readEnd == _readStart)
        {
            if (buffer.Length >= _readBuffer.Length)
            {
                return CheckEnd(_inner.Read(buffer));
            }

            _readStart = 0;
            _readEnd = CheckEnd(_inner.Read(_readBuffer));
            if (_readEnd == 0)
            {
                return 0;
            }
        }

        var count = Math.Min(buffer.Length, _readEnd - _readStart);
        _readBuffer.AsSpan(_readStart, count).CopyTo(buffer);
        _readStart += count;
        return count;
    }

    /// <inheritdoc />
    public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
    {
        if (buffer.IsEmpty)
        {
            return 0;
        }

        if (_readEnd == _readStart)
        {
            _readStart = 0;
            _readEnd = 0;
            var read = CheckEnd(await _inner.ReadAsync(_readBuffer, cancellationToken).ConfigureAwait(false));
            if (read == 0)
            {
                return 0;
            }

            _readEnd = read;
        }

        var count = Math.Min(buffer.Length, _readEnd - _readStart);
        _readBuffer.AsSpan(_readStart, count).CopyTo(buffer.Span);
        _readStart += count;
        return count;
    }

    /// <inheritdoc />
    public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
        ReadAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

    /// <summary>
    /// Reads from the transport, without blocking a thread, until the buffer holds at least one complete
    /// TLS record (or the peer closed the connection), so that the next synchronous record read is served
    /// from memory. Only the single reader may call this.
    /// </summary>
    internal async ValueTask WaitForRecordAsync(CancellationToken cancellationToken)
    {
        while (true)
        {
            var buffered = _readEnd - _readStart;
            var needed = 5;
            if (buffered >= 5)
            {
                needed = 5 + BinaryPrimitives.ReadUInt16BigEndian(_readBuffer.AsSpan(_readStart + 3, 2));
                if (buffered >= needed || needed > _readBuffer.Length)
                {
                    // Complete, or larger than any legal record: the record layer will reject it.
                    return;
                }
            }

            if (_readBuffer.Length - _readStart < needed)
            {
                _readBuffer.AsSpan(_readStart, buffered).CopyTo(_readBuffer);
                _readStart = 0;
                _readEnd = buffered;
            }

            var read = CheckEnd(await _inner.ReadAsync(_readBuffer.AsMemory(_readEnd), cancellationToken).ConfigureAwait(false));
            if (read == 0)
            {
                return;
            }

            _readEnd += read;
        }
    }

    private int CheckEnd(int read)
    {
        if (read == 0)
        {
            SawEndOfStream = true;
        }

        return read;
    }

    // ---- writing ----

    /// <summary>
    /// Starts batching records written by the calling thread (the application writer); they are sent
    /// when the batch fills up and at <see cref="EndBatch"/>.
    /// </summary>
    internal void BeginBatch()
    {
        lock (_writeSync)
        {
            _batchOwner = Environment.CurrentManagedThreadId;
        }
    }

    /// <summary>Ends the batch of the calling thread, sending what it holds when <paramref name="send"/> is true.</summary>
    internal void EndBatch(bool send)
    {
        lock (_writeSync)
        {
            try
            {
                if (send)
                {
                    SendBatchLocked();
                }
            }
            finally
            {
                _batchOwner = 0;
                _reservedOffset = -1;
                _batchSent = 0;
                _batchEnd = 0;
            }
        }
    }

    /// <summary>
    /// Lends the cipher room for one record of <paramref name="length"/> bytes inside the current batch,
    /// when the caller is the batching writer; the record is committed when the record layer writes
    /// exactly that region. Returns false outside a batch (handshake, alerts), where the cipher allocates.
    /// </summary>
    internal bool TryReserve(int length, out byte[] buffer, out int offset)
    {
        buffer = _batch;
        offset = 0;
        if (Volatile.Read(ref _batchOwner) != Environment.CurrentManagedThreadId || length > _batch.Length)
        {
            return false;
        }

        lock (_writeSync)
        {
            if (_batchOwner != Environment.CurrentManagedThreadId)
            {
                return false;
            }

            if (_batch.Length - _batchEnd < length)
            {
                SendBatchLocked();
            }

            _reservedOffset = _batchEnd;
            _reservedLength = length;
            offset = _batchEnd;
            return true;
        }
    }

    /// <inheritdoc />
    public override void Write(byte[] buffer, int offset, int count)
    {
        ValidateBufferArguments(buffer, offset, count);
        lock (_writeSync)
        {
            if (ReferenceEquals(buffer, _batch))
            {
                if (offset != _reservedOffset || count != _reservedLength)
                {
                    throw new InvalidOperationException("A TLS record was written outside the region reserved for it.");
                }

                _batchEnd = offset + count;
                _reservedOffset = -1;
                return;
            }

            WriteLocked(buffer.AsSpan(offset, count));
        }
    }

    /// <inheritdoc />
    public override void Write(ReadOnlySpan<byte> buffer)
    {
        lock (_writeSync)
        {
            WriteLocked(buffer);
        }
    }

    private void WriteLocked(ReadOnlySpan<byte> data)
    {
        if (_batchOwner == Environment.CurrentManagedThreadId && _reservedOffset < 0)
        {
            if (_batch.Length - _batchEnd < data.Length)
            {
                SendBatchLocked();
            }

            if (data.Length <= _batch.Length)
            {
                data.CopyTo(_batch.AsSpan(_batchEnd));
                _batchEnd += data.Length;
                return;
            }
        }
        else
        {
            // Another thread's record (an alert, close_notify): what was encrypted before it goes first.
            SendBatchLocked();
        }

        _inner.Write(data);
    }

    /// <summary>Sends the committed, unsent part of the batch; keeps a reservation in progress where it is.</summary>
    private void SendBatchLocked()
    {
        if (_batchEnd > _batchSent)
        {
            _inner.Write(_batch, _batchSent, _batchEnd - _batchSent);
        }

        if (_reservedOffset < 0)
        {
            _batchSent = 0;
            _batchEnd = 0;
        }
        else
        {
            _batchSent = _batchEnd;
        }
    }

    /// <inheritdoc />
    public override void Flush()
    {
        // BouncyCastle flushes after every record; inside a batch that is exactly what must not happen.
        if (Volatile.Read(ref _batchOwner) != Environment.CurrentManagedThreadId)
        {
            _inner.Flush();
        }
    }

    /// <inheritdoc />
    public override Task FlushAsync(CancellationToken cancellationToken) => _inner.FlushAsync(cancellationToken);

    /// <inheritdoc />
    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

    /// <inheritdoc />
    public override void SetLength(long value) => throw new NotSupportedException();

    /// <inheritdoc />
    protected override void Dispose(bool disposing)
    {
        if (disposing && Interlocked.Exchange(ref _disposed, 1) == 0)
        {
            _inner.Dispose();
        }

        base.Dispose(disposing);
    }
}
