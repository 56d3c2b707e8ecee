using System.Security.Cryptography;
using Org.BouncyCastle.Tls;
using Org.BouncyCastle.Tls.Crypto.Impl;

namespace Whitesky.Nbd.Tls;

/// <summary>
/// One direction (encrypt or decrypt) of an AES-GCM record cipher on .NET's
/// <see cref="AesGcm"/> (OpenSSL / CNG with AES-NI and carry-less multiply) instead of BouncyCastle's
/// managed GCM. <see cref="AesGcmTlsCipher"/> calls <see cref="Seal"/> / <see cref="Open"/> directly;
/// the <see cref="TlsAeadCipherImpl"/> members exist for BouncyCastle's key schedule and generic paths.
/// </summary>
internal sealed class AesGcmCipherImpl : TlsAeadCipherImpl, IDisposable
{
    /// <summary>Size of the GCM authentication tag TLS uses.</summary>
    internal const int TagSize = 16;

    private readonly bool _encrypting;
    private AesGcm? _aes;
    private byte[]? _nonce;
    private byte[]? _additionalData;

    /// <summary>Creates the encrypting or the decrypting half.</summary>
    internal AesGcmCipherImpl(bool encrypting) => _encrypting = encrypting;

    /// <inheritdoc />
    public void SetKey(byte[] key, int keyOff, int keyLen) => SetKey(key.AsSpan(keyOff, keyLen));

    /// <inheritdoc />
    public void SetKey(ReadOnlySpan<byte> key)
    {
        // A TLS 1.3 key update replaces the key on the thread that owns this direction.
        var previous = _aes;
        _aes = new AesGcm(key, TagSize);
        previous?.Dispose();
    }

    /// <inheritdoc />
    public void Init(byte[] nonce, int macSize, byte[] additionalData)
    {
        if (macSize != TagSize)
        {
            throw new TlsFatalAlert(AlertDescription.internal_error, "AES-GCM in TLS uses a 16-byte tag.");
        }

        _nonce = nonce;
        _additionalData = additionalData;
    }

    /// <inheritdoc />
    public int GetOutputSize(int inputLength) =>
        _encrypting ? inputLength + TagSize : Math.Max(0, inputLength - TagSize);

    /// <inheritdoc />
    public int DoFinal(byte[] input, int inputOffset, int inputLength, byte[] output, int outputOffset) =>
        DoFinal(_additionalData, input, inputOffset, inputLength, output, outputOffset);

    /// <inheritdoc />
    public int DoFinal(byte[]? additionalData, byte[] input, int inputOffset, int inputLength, byte[] output, int outputOffset)
    {
        var nonce = _nonce ?? throw new TlsFatalAlert(AlertDescription.internal_error, "AES-GCM used before Init.");
        if (_encrypting)
        {
            Seal(nonce, additionalData, input.AsSpan(inputOffset, inputLength),
                output.AsSpan(outputOffset, inputLength), output.AsSpan(outputOffset + inputLength, TagSize));
            return inputLength + TagSize;
        }

        var plaintextLength = inputLength - TagSize;
        if (plaintextLength < 0)
        {
            throw new TlsFatalAlert(AlertDescription.bad_record_mac);
        }

        Open(nonce, additionalData, input.AsSpan(inputOffset, plaintextLength),
            input.AsSpan(inputOffset + plaintextLength, TagSize), output.AsSpan(outputOffset, plaintextLength));
        return plaintextLength;
    }

    /// <inheritdoc />
    public void Reset()
    {
    }

    /// <summary>Encrypts <paramref name="plaintext"/> into <paramref name="ciphertext"/> (which may be the same memory) and writes the tag.</summary>
    internal void Seal(ReadOnlySpan<byte> nonce, ReadOnlySpan<byte> additionalData, ReadOnlySpan<byte> plaintext,
        Span<byte> ciphertext, Span<byte> tag)
    {
        var aes = _aes ?? throw new TlsFatalAlert(AlertDescription.internal_error, "AES-GCM used before SetKey.");
        aes.Encrypt(nonce, plaintext, ciphertext, tag, additionalData);
    }

    /// <summary>
    /// Decrypts and authenticates <paramref name="ciphertext"/> into <paramref name="plaintext"/> (which may be the
    /// same memory); a wrong tag is a <c>bad_record_mac</c> alert, as RFC 8446 and RFC 5246 require.
    /// </summary>
    internal void Open(ReadOnlySpan<byte> nonce, ReadOnlySpan<byte> additionalData, ReadOnlySpan<byte> ciphertext,
        ReadOnlySpan<byte> tag, Span<byte> plaintext)
    {
        var aes = _aes ?? throw new TlsFatalAlert(AlertDescription.internal_error, "AES-GCM used before SetKey.");
        try
        {
            aes.Decrypt(nonce, ciphertext, tag, plaintext, additionalData);
        }
        catch (AuthenticationTagMismatchException e)
        {
            throw new TlsFatalAlert(AlertDescription.bad_record_mac, e);
        }
    }

    /// <summary>Releases the native cipher context.</summary>
    public void Dispose()
    {
        _aes?.Dispose();
        _aes = null;
    }
}
