using System.Buffers;
using System.Buffers.Text;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;

namespace Whitesky.Emulator.Auth;

/// <summary>
/// Issues and checks the emulator's JWTs: HS256 with a key made at start-up, so a token of another emulator
/// (or of the real platform) is foreign. Claims as the platform's IAM sets them: <c>iss</c>, <c>sub</c>/<c>username</c>,
/// <c>iat</c>, <c>exp</c>, <c>jti</c>.
/// </summary>
internal sealed class JwtIssuer : IDisposable
{
    public const string Issuer = "whitesky-emulator";
    private static readonly byte[] Header = Encoding.UTF8.GetBytes("""{"alg":"HS256","typ":"JWT"}""");
    private readonly HMACSHA256 _hmac = new(RandomNumberGenerator.GetBytes(32));
    private readonly Lock _gate = new();
    private readonly TimeProvider _time;

    public JwtIssuer(string user, TimeProvider time)
    {
        User = user;
        _time = time;
    }

    public string User { get; }

    public string Issue(TimeSpan lifetime)
    {
        var now = _time.GetUtcNow().ToUnixTimeSeconds();
        var payload = new ArrayBufferWriter<byte>(256);
        using (var writer = new Utf8JsonWriter(payload))
        {
            writer.WriteStartObject();
            writer.WriteString("iss", Issuer);
            writer.WriteString("sub", User);
            writer.WriteString("username", User);
            writer.WriteString("azp", "whitesky-emulator");
            writer.WriteNumber("iat", now);
            writer.WriteNumber("exp", now + (long)Math.Max(1, lifetime.TotalSeconds));
            writer.WriteString("jti", Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(8)));
            writer.WriteEndObject();
        }

        var unsigned = Base64Url.EncodeToString(Header) + "." + Base64Url.EncodeToString(payload.WrittenSpan);
        return unsigned + "." + Base64Url.EncodeToString(Sign(unsigned));
    }

    /// <summary>Checks a token; <paramref name="allowExpired"/> is for the IAM refresh, which renews a token that has just run out.</summary>
    public JwtCheck Check(string? token, bool allowExpired = false)
    {
        if (string.IsNullOrEmpty(token))
        {
            return JwtCheck.Missing;
        }

        var parts = token.Split('.');
        if (parts.Length != 3 || !Base64Url.IsValid(parts[2]) || !Base64Url.IsValid(parts[1]))
        {
            return JwtCheck.Malformed;
        }

        var expected = Sign(parts[0] + "." + parts[1]);
        var given = Base64Url.DecodeFromChars(parts[2]);
        if (!CryptographicOperations.FixedTimeEquals(expected, given))
        {
            return JwtCheck.Foreign;
        }

        try
        {
            using var payload = JsonDocument.Parse(Base64Url.DecodeFromChars(parts[1]));
            if (!payload.RootElement.TryGetProperty("exp", out var exp) || !exp.TryGetInt64(out var expiry))
            {
                return JwtCheck.Malformed;
            }

            if (!allowExpired && expiry <= _time.GetUtcNow().ToUnixTimeSeconds())
            {
                return JwtCheck.Expired;
            }
        }
        catch (JsonException)
        {
            return JwtCheck.Malformed;
        }

        return JwtCheck.Valid;
    }

    private byte[] Sign(string unsigned)
    {
        lock (_gate)
        {
            return _hmac.ComputeHash(Encoding.ASCII.GetBytes(unsigned));
        }
    }

    public void Dispose() => _hmac.Dispose();
}

/// <summary>What <see cref="JwtIssuer.Check"/> found.</summary>
internal enum JwtCheck
{
    Valid,
    Missing,
    Malformed,
    Foreign,
    Expired,
}
