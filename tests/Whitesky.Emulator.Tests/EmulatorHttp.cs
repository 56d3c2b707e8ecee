using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;

namespace Whitesky.Emulator.Tests;

/// <summary>A plain <see cref="HttpClient"/> on an emulator, with the paths of its customer, cloudspace and location.</summary>
internal sealed class EmulatorHttp : IDisposable
{
    public EmulatorHttp(WhiteskyEmulator emulator, string? jwt = null)
    {
        Emulator = emulator;
        Client = new HttpClient { Timeout = TimeSpan.FromSeconds(30) };
        if (jwt is not "")
        {
            Client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", jwt ?? emulator.Jwt);
        }
    }

    public WhiteskyEmulator Emulator { get; }

    public HttpClient Client { get; }

    public string Base => Emulator.BaseUrl.ToString().TrimEnd('/');

    public string Customer => $"{Base}/customers/{Emulator.CustomerId}";

    public string Location => $"{Customer}/locations/{Emulator.Location}";

    public string Cloudspace => $"{Customer}/cloudspaces/{Emulator.CloudspaceId}";

    public string Dns => $"{Base}/alpha/customers/{Emulator.CustomerId}/cloudspaces/{Emulator.CloudspaceId}/dns";

    public async Task<(HttpStatusCode Status, JsonElement Body)> SendAsync(HttpMethod method, string url, HttpContent? content = null)
    {
        using var request = new HttpRequestMessage(method, url) { Content = content };
        using var response = await Client.SendAsync(request);
        var text = await response.Content.ReadAsStringAsync();
        var body = text.Length == 0 ? default : JsonDocument.Parse(text).RootElement.Clone();
        return (response.StatusCode, body);
    }

    /// <summary>Sends and requires <paramref name="expected"/>; the body is returned.</summary>
    public async Task<JsonElement> ExpectAsync(HttpStatusCode expected, HttpMethod method, string url, HttpContent? content = null)
    {
        var (status, body) = await SendAsync(method, url, content);
        Assert.True(status == expected, $"{method} {url} answered {(int)status}, expected {(int)expected}: {body}");
        return body;
    }

    public Task<JsonElement> OkAsync(HttpMethod method, string url, HttpContent? content = null) => ExpectAsync(HttpStatusCode.OK, method, url, content);

    public static StringContent Json(object value) => new(JsonSerializer.Serialize(value), Encoding.UTF8, "application/json");

    public async Task<int> CreateDiskAsync(int sizeGb = 1, string name = "data")
    {
        var body = await OkAsync(HttpMethod.Post, $"{Location}/disks?disk_name={name}&description=test&disk_size={sizeGb}");
        return body.GetProperty("disk_id").GetInt32();
    }

    public async Task<JsonElement> ExposeAsync(int diskId, int? maxConnections = null)
    {
        var url = $"{Cloudspace}/exposed-disks?disk_id={diskId}" + (maxConnections is { } max ? $"&max_connections={max}" : string.Empty);
        return await OkAsync(HttpMethod.Post, url);
    }

    public Task<JsonElement> AdminAsync(HttpMethod method, string path) => OkAsync(method, Emulator.AdminUrl + path);

    public void Dispose() => Client.Dispose();
}
