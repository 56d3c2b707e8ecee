using System.Buffers.Text;
using System.Text.Json;

namespace Whitesky.Api.Auth;

/// <summary>Reads the <c>exp</c> claim of a JWT without validating it (the platform validates; we only schedule refreshes).</summary>
internal static class JwtToken
{
    // A JWT payload larger than this is not a whitesky token; it is not decoded.
    private const int MaxPayloadChars = 16 * 1024;

    public static DateTimeOffset? ReadExpiry(string jwt)
    {
        var parts = jwt.Split('.');
        if (parts.Length != 3 || parts[1].Length == 0 || parts[1].Length > MaxPayloadChars)
        {
            return null;
        }

        try
        {
            var payload = Base64Url.DecodeFromChars(parts[1]);
            using var doc = JsonDocument.Parse(payload);
            if (doc.RootElement.ValueKind == JsonValueKind.Object
                && doc.RootElement.TryGetProperty("exp", out var exp)
                && exp.ValueKind == JsonValueKind.Number
                && exp.TryGetDouble(out var seconds)
                && seconds is > 0 and < 253402300800)
            {
                return DateTimeOffset.FromUnixTimeMilliseconds((long)(seconds * 1000));
            }
        }
        catch (Exception e) when (e is FormatException or JsonException)
        {
            // Not a JWT we can read: no scheduled refresh.
        }

        return null;
    }

    /// <summary>Reads the refresh answer: a bare token, a JSON string, or a JSON object with jwt/token/access_token.</summary>
    public static string? ParseRefreshAnswer(string body)
    {
        var text = body.Trim();
        if (text.Length == 0)
        {
            return null;
        }

        if (text[0] is '{' or '"')
        {
            try
            {
                using var doc = JsonDocument.Parse(text);
                var root = doc.RootElement;
                if (root.ValueKind == JsonValueKind.String)
                {
                    return root.GetString();
                }

                foreach (var name in (string[])["jwt", "token", "access_token"])
                {
                    if (root.ValueKind == JsonValueKind.Object && root.TryGetProperty(name, out var value) && value.ValueKind == JsonValueKind.String)
                    {
                        return value.GetString();
                    }
                }

                return null;
            }
            catch (JsonException)
            {
                return null;
            }
        }

        return text.Contains(' ', StringComparison.Ordinal) || text.Contains('\n', StringComparison.Ordinal) ? null : text;
    }
}
