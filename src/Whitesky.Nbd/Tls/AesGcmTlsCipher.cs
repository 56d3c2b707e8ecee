using System.Buffers.Binary;
using Org.BouncyCastle.Tls;
using Org.BouncyCastle.Tls.Crypto;
using Org.BouncyCastle.Tls.Crypto.Impl;

namespace Whitesky.Nbd.Tls;

/// <summary>
/// The AES-GCM record protection of TLS 1.2 (RFC 5288 nonces) and TLS 1.3 (RFC 8446 per-record nonces)
/// on <see cref="AesGcmCipherImpl"/>. BouncyCastle's <see cref="TlsAeadCipher"/> still derives the keys
/// and IVs (and re-derives them on a TLS 1.3 key update); this class replaces only the per-record work so
/// that it allocates nothing: nonce and additional data live on the stack, outgoing records are
/// encrypted straight into the transport's write batch, and incoming records are decrypted in place.
/// </summary>
/// <remarks>
/// The encrypting half is used by the one writer thread and the decrypting half by the one reader
/// thread; they share no mutable state, matching the one-reader / one-writer model of the record layer.
/// </remarks>
internal sealed class AesGcmTlsCipher : TlsAeadCipher
{
    private const int NonceSize = 12;
    private const int ExplicitNonceSize = 8;

    private readonly AesGcmCipherImpl _encrypt;
    private readonly AesGcmCipherImpl _decrypt;
    private readonly AesGcmTlsCrypto _owner;
    private readonly TlsRecordTransport? _transport;

    /// <summary>Creates the cipher for the negotiated version; the base constructor derives the keys.</summary>
    internal AesGcmTlsCipher(TlsCryptoParameters cryptoParams, AesGcmCipherImpl encrypt, AesGcmCipherImpl decrypt,
        int keySize, AesGcmTlsCrypto owner, TlsRecordTransport? transport)
        : base(cryptoParams, encrypt, decrypt, keySize, AesGcmCipherImpl.TagSize, AEAD_GCM)
    {
        _encrypt = encrypt;
        _decrypt = decrypt;
        _owner = owner;
        _transport = transport;

        // Connection IDs exist only in DTLS 1.2, which this transport never negotiates.
        if (m_encryptConnectionID is { Length: > 0 } || m_decryptConnectionID is { Length: > 0 })
        {
            throw new TlsFatalAlert(AlertDescription.internal_error, "TLS connection IDs are not supported.");
        }
    }

    /// <inheritdoc />
    public override TlsEncodeResult EncodePlaintext(long seqNo, short contentType, ProtocolVersion recordVersion,
        int headerAllocation, byte[] plaintext, int plaintextOffset, int plaintextLength) =>
        EncodePlaintext(seqNo, contentType, recordVersion, headerAllocation, plaintext.AsSpan(plaintextOffset, plaintextLength));

    /// <inheritdoc />
    public override TlsEncodeResult EncodePlaintext(long seqNo, short contentType, ProtocolVersion recordVersion,
        int headerAllocation, ReadOnlySpan<byte> plaintext)
    {
        var innerLength = plaintext.Length + (m_encryptUseInnerPlaintext ? 1 : 0);
        var ciphertextLength = m_record_iv_length + innerLength + AesGcmCipherImpl.TagSize;
        var total = headerAllocation + ciphertextLength;

        byte[] output;
        int start;
        if (_transport is null || !_transport.TryReserve(total, out output, out start))
        {
            output = new byte[total];
            start = 0;
        }

        var record = output.AsSpan(start + headerAllocation, ciphertextLength);
        Span<byte> nonce = stackalloc byte[NonceSize];
        Span<byte> additionalData = stackalloc byte[13];
        short recordType;
        if (m_isTlsV13)
        {
            // RFC 8446 5.2/5.3: the record is application_data; nonce = IV xor sequence number.
            recordType = ContentType.application_data;
            BuildTls13Nonce(m_encryptNonce, seqNo, nonce);
            additionalData = additionalData[..5];
            additionalData[0] = (byte)recordType;
            additionalData[1] = (byte)recordVersion.MajorVersion;
            additionalData[2] = (byte)recordVersion.MinorVersion;
            BinaryPrimitives.WriteUInt16BigEndian(additionalData[3..], (ushort)ciphertextLength);

            var inner = record.Slice(0, innerLength);
            plaintext.CopyTo(inner);
            inner[^1] = (byte)contentType;
            _encrypt.Seal(nonce, additionalData, inner, inner, record.Slice(innerLength, AesGcmCipherImpl.TagSize));
        }
        else
        {
            // RFC 5288: nonce = 4-byte salt || 8-byte explicit part, sent in clear; the sequence number serves.
            recordType = contentType;
            m_encryptNonce.AsSpan(0, 4).CopyTo(nonce);
            BinaryPrimitives.WriteInt64BigEndian(nonce[4..], seqNo);
            nonce[4..].CopyTo(record);
            BuildTls12AdditionalData(seqNo, recordType, recordVersion, plaintext.Length, additionalData);
            _encrypt.Seal(nonce, additionalData, plaintext, record.Slice(ExplicitNonceSize, plaintext.Length),
                record.Slice(ExplicitNonceSize + plaintext.Length, AesGcmCipherImpl.TagSize));
        }

        _owner.CountSealed();
        return new TlsEncodeResult(output, start, total, recordType);
    }

    /// <inheritdoc />
    public override TlsDecodeResult DecodeCiphertext(long seqNo, short recordType, ProtocolVersion recordVersion,
        byte[] ciphertext, int ciphertextOffset, int ciphertextLength)
    {
        if (GetPlaintextDecodeLimit(ciphertextLength) < 0)
        {
            throw new TlsFatalAlert(AlertDescription.decode_error);
        }

        var encryptedOffset = ciphertextOffset + m_record_iv_length;
        var plaintextLength = ciphertextLength - m_record_iv_length - AesGcmCipherImpl.TagSize;
        var payload = ciphertext.AsSpan(encryptedOffset, plaintextLength);
        var tag = ciphertext.AsSpan(encryptedOffset + plaintextLength, AesGcmCipherImpl.TagSize);

        Span<byte> nonce = stackalloc byte[NonceSize];
        Span<byte> additionalData = stackalloc byte[13];
        if (m_isTlsV13)
        {
            BuildTls13Nonce(m_decryptNonce, seqNo, nonce);
            additionalData = additionalData[..5];
            additionalData[0] = (byte)recordType;
            additionalData[1] = (byte)recordVersion.MajorVersion;
            additionalData[2] = (byte)recordVersion.MinorVersion;
            BinaryPrimitives.WriteUInt16BigEndian(additionalData[3..], (ushort)ciphertextLength);
        }
        else
        {
            m_decryptNonce.AsSpan(0, 4).CopyTo(nonce);
            ciphertext.AsSpan(ciphertextOffset, ExplicitNonceSize).CopyTo(nonce[4..]);
            BuildTls12AdditionalData(seqNo, recordType, recordVersion, plaintextLength, additionalData);
        }

        _decrypt.Open(nonce, additionalData, payload, tag, payload);
        _owner.CountOpened();

        var contentType = recordType;
        if (m_decryptUseInnerPlaintext)
        {
            // TLSInnerPlaintext: content, the real content type, then zero padding.
            var end = payload.LastIndexOfAnyExcept((byte)0);
            if (end < 0)
            {
                throw new TlsFatalAlert(AlertDescription.unexpected_message);
            }

            contentType = payload[end];
            plaintextLength = end;
        }

        return new TlsDecodeResult(ciphertext, encryptedOffset, plaintextLength, contentType);
    }

    private static void BuildTls13Nonce(byte[] iv, long seqNo, Span<byte> nonce)
    {
        iv.AsSpan(0, NonceSize).CopyTo(nonce);
        var low = nonce[4..];
        BinaryPrimitives.WriteInt64BigEndian(low, BinaryPrimitives.ReadInt64BigEndian(low) ^ seqNo);
    }

    private static void BuildTls12AdditionalData(long seqNo, short recordType, ProtocolVersion recordVersion,
        int plaintextLength, Span<byte> additionalData)
    {
        // RFC 5246 6.2.3.3: seq_num || type || version || length.
        BinaryPrimitives.WriteInt64BigEndian(additionalData, seqNo);
        additionalData[8] = (byte)recordType;
        additionalData[9] = (byte)recordVersion.MajorVersion;
        additionalData[10] = (byte)recordVersion.MinorVersion;
        BinaryPrimitives.WriteUInt16BigEndian(additionalData[11..], (ushort)plaintextLength);
    }

    /// <summary>Releases both native cipher contexts.</summary>
    internal void Release()
    {
        _encrypt.Dispose();
        _decrypt.Dispose();
    }
}
