using System.Text.RegularExpressions;

namespace Whitesky.Api;

/// <summary>Removes secrets (JWTs, keys, PSKs, passwords) from text that may end up in a message or a log.</summary>
internal static partial class SecretScrubber
{
    public const string Mask = "***";

    // Longest platform message kept in an exception: enough for a sentence, never a whole page.
    public const int MaxMessageLength = 512;

    [return: System.Diagnostics.CodeAnalysis.NotNullIfNotNull(nameof(text))]
    public static string? Scrub(string? text)
    {
        if (string.IsNullOrEmpty(text))
        {
            return text;
        }

        text = JwtPattern().Replace(text, Mask);
        text = BearerPattern().Replace(text, "Bearer " + Mask);
        text = NamedSecretPattern().Replace(text, m => m.Groups["name"].Value + m.Groups["sep"].Value + Mask);
        return text.Length <= MaxMessageLength ? text : string.Concat(text.AsSpan(0, MaxMessageLength), "…");
    }

    // A JWS compact serialization: base64url header (always starts with '{"' → "eyJ"), payload, signature.
    [GeneratedRegex(@"eyJ[A-Za-z0-9_\-]+\.[A-Za-z0-9_\-]+\.[A-Za-z0-9_\-]*", RegexOptions.CultureInvariant)]
    private static partial Regex JwtPattern();

    [GeneratedRegex(@"Bearer\s+[A-Za-z0-9_\-\.=+/]+", RegexOptions.CultureInvariant | RegexOptions.IgnoreCase)]
    private static partial Regex BearerPattern();

    // "psk": "…", secret=…, 'password': '…', tpm_secret=… (JSON, query strings, Python reprs).
    [GeneratedRegex(@"(?<name>[""']?(?:psk|secret|tpm_secret|password|jwt|token|access_token|refresh_token)[""']?)(?<sep>\s*[:=]\s*)(?:""[^""]*""|'[^']*'|[^\s,;&}\]]+)", RegexOptions.CultureInvariant | RegexOptions.IgnoreCase)]
    private static partial Regex NamedSecretPattern();
}
