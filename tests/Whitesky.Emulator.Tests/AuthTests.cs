using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;

namespace Whitesky.Emulator.Tests;

/// <summary>Bearer JWTs: missing, foreign, malformed and expired tokens are refused with 401; the IAM refresh renews them.</summary>
public class AuthTests
{
    [Fact]
    public async Task A_call_without_a_token_is_answered_401_with_a_bearer_challenge()
    {
        await using var emulator = await WhiteskyEmulator.StartAsync();
        using var http = new HttpClient();
        using var response = await http.GetAsync($"{emulator.BaseUrl}/customers/{emulator.CustomerId}/locations/{emulator.Location}/disks");
        Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
        Assert.Equal("Bearer", response.Headers.WwwAuthenticate.Single().Scheme);
        using var body = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        Assert.Contains("Authorization", body.RootElement.GetProperty("message").GetString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_token_of_another_emulator_or_a_tampered_one_is_refused()
    {
        await using var emulator = await WhiteskyEmulator.StartAsync();
        await using var other = await WhiteskyEmulator.StartAsync();
        var parts = emulator.Jwt.Split('.');
        var tampered = parts[0] + "." + parts[1].Replace(parts[1][^2..], parts[1][^2] == 'A' ? "BA" : "AA", StringComparison.Ordinal) + "." + parts[2];
        foreach (var token in new[] { other.Jwt, tampered, "not-a-jwt", parts[0] + "." + parts[1] + "." })
        {
            using var http = new EmulatorHttp(emulator, token);
            var (status, body) = await http.SendAsync(HttpMethod.Get, $"{http.Location}/disks");
            Assert.Equal(HttpStatusCode.Unauthorized, status);
            Assert.DoesNotContain(token, body.ToString(), StringComparison.Ordinal);
        }

        using var valid = new EmulatorHttp(emulator);
        await valid.OkAsync(HttpMethod.Get, $"{valid.Location}/disks");
    }

    [Fact]
    public async Task The_token_carries_exp_and_an_expired_one_is_refused_until_refreshed_at_the_iam_url()
    {
        var clock = new ManualClock();
        await using var emulator = await WhiteskyEmulator.StartAsync(new WhiteskyEmulatorOptions { TokenLifetime = TimeSpan.FromMinutes(5), TimeProvider = clock });
        var payload = JsonDocument.Parse(Convert.FromBase64String(Pad(emulator.Jwt.Split('.')[1]))).RootElement;
        Assert.Equal(clock.GetUtcNow().ToUnixTimeSeconds() + 300, payload.GetProperty("exp").GetInt64());

        using var http = new EmulatorHttp(emulator);
        await http.OkAsync(HttpMethod.Get, $"{http.Location}/disks");
        clock.Advance(TimeSpan.FromMinutes(5));
        var (status, body) = await http.SendAsync(HttpMethod.Get, $"{http.Location}/disks");
        Assert.Equal(HttpStatusCode.Unauthorized, status);
        Assert.Contains("expired", body.GetProperty("message").GetString(), StringComparison.Ordinal);

        // GET {iam}/v1/oauth/jwt/refresh with the (expired) token as bearer answers a new JWT as plain text.
        using var refresh = new HttpRequestMessage(HttpMethod.Get, $"{emulator.IamUrl}/v1/oauth/jwt/refresh");
        refresh.Headers.Authorization = new AuthenticationHeaderValue("Bearer", emulator.Jwt);
        using var refreshed = await http.Client.SendAsync(refresh);
        Assert.Equal(HttpStatusCode.OK, refreshed.StatusCode);
        Assert.Equal("text/plain", refreshed.Content.Headers.ContentType?.MediaType);
        var newToken = await refreshed.Content.ReadAsStringAsync();
        Assert.NotEqual(emulator.Jwt, newToken);

        using var renewed = new EmulatorHttp(emulator, newToken);
        await renewed.OkAsync(HttpMethod.Get, $"{renewed.Location}/disks");
    }

    [Fact]
    public async Task Refresh_refuses_missing_and_foreign_tokens()
    {
        await using var emulator = await WhiteskyEmulator.StartAsync();
        await using var other = await WhiteskyEmulator.StartAsync();
        using var http = new HttpClient();
        using var missing = await http.GetAsync($"{emulator.IamUrl}/v1/oauth/jwt/refresh");
        Assert.Equal(HttpStatusCode.Unauthorized, missing.StatusCode);

        using var foreign = new HttpRequestMessage(HttpMethod.Get, $"{emulator.IamUrl}/v1/oauth/jwt/refresh");
        foreign.Headers.Authorization = new AuthenticationHeaderValue("Bearer", other.Jwt);
        using var refused = await http.SendAsync(foreign);
        Assert.Equal(HttpStatusCode.Unauthorized, refused.StatusCode);
    }

    [Fact]
    public async Task Me_jwt_answers_a_json_string_that_is_a_working_token()
    {
        await using var emulator = await WhiteskyEmulator.StartAsync();
        using var http = new EmulatorHttp(emulator);
        var token = (await http.OkAsync(HttpMethod.Get, $"{http.Base}/me/jwt")).GetString()!;
        Assert.Equal(3, token.Split('.').Length);
        using var again = new EmulatorHttp(emulator, token);
        await again.OkAsync(HttpMethod.Get, $"{again.Location}/disks");

        // A short-lived token from the in-process handle.
        var shortLived = emulator.IssueJwt(TimeSpan.FromSeconds(30));
        var exp = JsonDocument.Parse(Convert.FromBase64String(Pad(shortLived.Split('.')[1]))).RootElement.GetProperty("exp").GetInt64();
        Assert.InRange(exp - DateTimeOffset.UtcNow.ToUnixTimeSeconds(), 25, 31);
    }

    [Fact]
    public async Task Foreign_customer_cloudspace_or_location_is_404()
    {
        await using var emulator = await WhiteskyEmulator.StartAsync();
        using var http = new EmulatorHttp(emulator);
        await http.ExpectAsync(HttpStatusCode.NotFound, HttpMethod.Get, $"{http.Base}/customers/someone-else/locations/{emulator.Location}/disks");
        await http.ExpectAsync(HttpStatusCode.NotFound, HttpMethod.Get, $"{http.Customer}/locations/elsewhere/disks");
        await http.ExpectAsync(HttpStatusCode.NotFound, HttpMethod.Get, $"{http.Customer}/cloudspaces/other/vms");
    }

    private static string Pad(string base64Url)
    {
        var text = new StringBuilder(base64Url.Replace('-', '+').Replace('_', '/'));
        while (text.Length % 4 != 0)
        {
            text.Append('=');
        }

        return text.ToString();
    }
}
