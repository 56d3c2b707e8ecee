using System.Net;
using System.Net.Http.Headers;
using Whitesky.Emulator;

namespace Whitesky.IntegrationTests;

/// <summary>The embedded emulator the end-to-end tests run against starts in-process and guards its API.</summary>
public class EmulatorStartsTests
{
    [Fact]
    public async Task The_embedded_emulator_serves_its_api_on_loopback_to_its_own_token_only()
    {
        await using var emulator = await WhiteskyEmulator.StartAsync();
        Assert.True(IPAddress.IsLoopback(IPAddress.Parse(emulator.BaseUrl.Host)));

        using var http = new HttpClient();
        var url = new Uri(emulator.BaseUrl + "/customers/" + emulator.CustomerId + "/cloudspaces");
        Assert.Equal(HttpStatusCode.Unauthorized, (await http.GetAsync(url)).StatusCode);

        using var request = new HttpRequestMessage(HttpMethod.Get, url);
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", emulator.Jwt);
        using var response = await http.SendAsync(request);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Contains(emulator.CloudspaceId, await response.Content.ReadAsStringAsync(), StringComparison.Ordinal);
    }
}
