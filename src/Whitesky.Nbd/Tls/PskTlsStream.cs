using Org.BouncyCastle.Tls;

namespace Whitesky.Nbd.Tls;

/// <summary>
/// The decrypted application-data stream of an established TLS-PSK connection (either side).
/// </summary>
/// <remarks>
/// <para>
/// Concurrency: one reader and one writer may use the stream at the same time (the NBD client's reply
/// loop and its serialised request writer); concurrent writers are serialised here, concurrent readers
/// are not supported.
/// </para>
/// <para>
/// Writes, synchronous or not, encrypt and send on the calling thread: encryption is CPU work either
/// way, and the records of one write are batched into about 130 KiB socket writes. A write blocks its
/// caller while the socket's send buffer is full. <see cref="WriteAsync(ReadOnlyMemory{byte}, CancellationToken)"/>
/// therefore completes synchronously and honours its token only before it starts.
/// </para>
/// <para>
/// <see cref="ReadAsync(Memory{byte}, CancellationToken)"/> waits for the next complete TLS record
/// asynchronously (no thread is held while the connection is idle, and the token cancels the wait),
/// then lets BouncyCastle decrypt it synchronously from memory. Only when that record carried no
/// application data (a TLS 1.3 session ticket or key update) does BouncyCastle block the reading thread
/// for the following record.
/// </para>
/// </remarks>
internal sealed class PskTlsStream : Stream
{
    /// <summary>Bound on the blocking send of close_notify in <see cref="Dispose(bool)"/>.</summary>
    private const int CloseNotifyTimeoutMilliseconds = 2000;

    private readonly TlsProtocol _protocol;
    private readonly TlsRecordTransport _transport;
    private readonly AesGcmTlsCrypto? _crypto;
    private readonly object _writeLock = new();
    private int _disposed;

    internal PskTlsStream(TlsProtocol protocol, TlsRecordTransport transport, AesGcmTlsCrypto? crypto,
        ProtocolVersion version, int cipherSuite, string identity)
    {
        _protocol = protocol;
        _transport = transport;
        _crypto = crypto;
        NegotiatedVersion = version;
        CipherSuite = cipherSuite;
        Identity = identity;
    }

    /// <summary>The negotiated protocol version (TLS 1.3 or TLS 1.2).</summary>
    internal ProtocolVersion NegotiatedVersion { get; }

    /// <summary>The negotiated cipher suite (a <see cref="Org.BouncyCastle.Tls.CipherSuite"/> value).</summary>
    internal int CipherSuite { get; }

    /// <summary>The IANA name of <see cref="CipherSuite"/>.</summary>
    internal string CipherSuiteName => PskTlsCipherSuites.NameOf(CipherSuite);

    /// <summary>The PSK identity of the connection (the client's, on both sides).</summary>
    internal string Identity { get; }

    /// <summary>Records encrypted by .NET's AesGcm on this connection (0 when another cipher runs).</summary>
    internal long AesGcmRecordsSealed => _crypto?.RecordsSealed ?? 0;

    /// <summary>Records decrypted by .NET's AesGcm on this connection.</summary>
    internal long AesGcmRecordsOpened => _crypto?.RecordsOpened ?? 0;

    /// <inheritdoc />
    public override bool CanRead => Volatile.Read(ref _disposed) == 0;

    /// <inheritdoc />
    public override bool CanWrite => Volatile.Read(ref _disposed) == 0;

    /// <inheritdoc />
    public override bool CanSeek => false;

    /// <inheritdoc />
    public override long Length => throw new NotSupportedException();

    /// <inheritdoc />
    public override long Position
    {
        get => throw new NotSupportedException();
        set => throw new NotSupportedException();
    }

    /// <inheritdoc />
    public override int Read(byte[] buffer, int offset, int count)
    {
        ValidateBufferArguments(buffer, offset, count);
        return Read(buffer.AsSpan(offset, count));
    }

    /// <inheritdoc />
    public override int Read(Span<byte> buffer)
    {
        ThrowIfDisposed();
        return buffer.IsEmpty ? 0 : _protocol.ReadApplicationData(buffer);
    }

    /// <inheritdoc />
    public override int ReadByte()
    {
        Span<byte> one = stackalloc byte[1];
        return Read(one) == 1 ? one[0] : -1;
    }

    /// <inheritdoc />
    public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
    {
        cancellationToken.ThrowIfCancellationRequested();
        ThrowIfDisposed();
        if (buffer.IsEmpty)
        {
            return 0;
        }

        if (_protocol.ApplicationDataAvailable == 0)
        {
            await _transport.WaitForRecordAsync(cancellationToken).ConfigureAwait(false);
        }

        return _protocol.ReadApplicationData(buffer.Span);
    }

    /// <inheritdoc />
    public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken)
    {
        ValidateBufferArguments(buffer, offset, count);
        return ReadAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();
    }

    /// <inheritdoc />
    public override void Write(byte[] buffer, int offset, int count)
    {
        ValidateBufferArguments(buffer, offset, count);
        Write(buffer.AsSpan(offset, count));
    }

    /// <inheritdoc />
    public override void Write(ReadOnlySpan<byte> buffer)
    {
        ThrowIfDisposed();
        if (buffer.IsEmpty)
        {
            return;
        }

        lock (_writeLock)
        {
            var sent = false;
            _transport.BeginBatch();
            try
            {
                _protocol.WriteApplicationData(buffer);
                sent = true;
            }
            finally
            {
                _transport.EndBatch(sent);
            }
        }
    }

    /// <inheritdoc />
    public override void WriteByte(byte value) => Write([value]);

    /// <inheritdoc />
    public override ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken = default)
    {
        if (cancellationToken.IsCancellationRequested)
        {
            return ValueTask.FromCanceled(cancellationToken);
        }

        try
        {
            Write(buffer.Span);
            return ValueTask.CompletedTask;
        }
        catch (Exception e) when (e is IOException or ObjectDisposedException or InvalidOperationException)
        {
            return ValueTask.FromException(e);
        }
    }

    /// <inheritdoc />
    public override Task WriteAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken)
    {
        ValidateBufferArguments(buffer, offset, count);
        return WriteAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();
    }

    /// <summary>Does nothing: every write is on the wire when it returns.</summary>
    public override void Flush()
    {
    }

    /// <summary>Does nothing: every write is on the wire when it returns.</summary>
    public override Task FlushAsync(CancellationToken cancellationToken) =>
        cancellationToken.IsCancellationRequested ? Task.FromCanceled(cancellationToken) : Task.CompletedTask;

    /// <inheritdoc />
    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

    /// <inheritdoc />
    public override void SetLength(long value) => throw new NotSupportedException();

    /// <summary>
    /// Sends close_notify when no write is in progress (best effort, bounded by a short send timeout),
    /// then closes the transport. Never throws for a broken or vanished peer.
    /// </summary>
    protected override void Dispose(bool disposing)
    {
        if (disposing && Interlocked.Exchange(ref _disposed, 1) == 0)
        {
            // A writer blocked on a full socket must not block Dispose: then close without close_notify,
            // which also fails that writer at once.
            if (Monitor.TryEnter(_writeLock))
            {
                try
                {
                    _transport.TrySetWriteTimeout(CloseNotifyTimeoutMilliseconds);
                    _protocol.Close();
                }
                catch (IOException)
                {
                    // The peer is gone or broke the connection: nothing left to tell it.
                }
                catch (ObjectDisposedException)
                {
                }
                catch (InvalidOperationException)
                {
                }
                finally
                {
                    Monitor.Exit(_writeLock);
                }
            }

            _transport.Dispose();
            _crypto?.ReleaseCiphers();
        }

        base.Dispose(disposing);
    }

    private void ThrowIfDisposed() => ObjectDisposedException.ThrowIf(Volatile.Read(ref _disposed) != 0, this);

    /// <summary>Describes the connection without any secret.</summary>
    public override string ToString() =>
        $"TLS-PSK {NegotiatedVersion.Name} {CipherSuiteName}, identity '{Identity}'";
}
