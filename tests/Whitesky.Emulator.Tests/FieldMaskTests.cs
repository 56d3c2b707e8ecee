using System.Net;
using System.Text.Json;

namespace Whitesky.Emulator.Tests;

/// <summary>The <c>X-Fields</c> header of the swagger's operations: flask-restx response masks.</summary>
public class FieldMaskTests
{
    [Theory]
    [InlineData("disk_id,disk_name", "disk_id,disk_name")]
    [InlineData("{disk_id, status}", "disk_id,status")]
    [InlineData("iotune{iops},disk_id", "disk_id,iotune")]
    [InlineData("no_such_field", "")]
    public async Task A_mask_keeps_only_the_fields_it_names(string mask, string expected)
    {
        await using var emulator = await WhiteskyEmulator.StartAsync();
        using var http = new EmulatorHttp(emulator);
        var id = await http.CreateDiskAsync();
        var body = await GetAsync(http, $"{http.Location}/disks/{id}", mask);
        Assert.Equal(expected, string.Join(',', body.EnumerateObject().Select(p => p.Name).Order(StringComparer.Ordinal)));
        if (expected.Contains("iotune", StringComparison.Ordinal))
        {
            Assert.Equal(["iops"], body.GetProperty("iotune").EnumerateObject().Select(p => p.Name));
        }
    }

    [Fact]
    public async Task A_nested_mask_applies_to_every_item_of_a_list_and_a_wildcard_keeps_the_rest()
    {
        await using var emulator = await WhiteskyEmulator.StartAsync();
        using var http = new EmulatorHttp(emulator);
        await http.CreateDiskAsync(1, "a");
        await http.CreateDiskAsync(2, "b");
        var list = await GetAsync(http, $"{http.Location}/disks", "result{disk_name,disk_size}");
        Assert.Equal(["a 1", "b 2"], list.GetProperty("result").EnumerateArray().Select(d =>
        {
            Assert.Equal(2, d.EnumerateObject().Count());
            return $"{d.GetProperty("disk_name").GetString()} {d.GetProperty("disk_size").GetInt32()}";
        }));

        var all = await GetAsync(http, $"{http.Location}/disks", "result{*}");
        Assert.True(all.GetProperty("result")[0].GetProperty("iotune").TryGetProperty("iops", out _));
    }

    [Theory]
    [InlineData("{disk_id")]
    [InlineData("disk_id}")]
    [InlineData("disk_id,,status")]
    [InlineData("iotune{}")]
    public async Task A_malformed_mask_is_400(string mask)
    {
        await using var emulator = await WhiteskyEmulator.StartAsync();
        using var http = new EmulatorHttp(emulator);
        var id = await http.CreateDiskAsync();
        using var request = new HttpRequestMessage(HttpMethod.Get, $"{http.Location}/disks/{id}");
        request.Headers.Add("X-Fields", mask);
        using var response = await http.Client.SendAsync(request);
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.StartsWith("Mask parse error", JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement.GetProperty("message").GetString(), StringComparison.Ordinal);
    }

    private static async Task<JsonElement> GetAsync(EmulatorHttp http, string url, string mask)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, url);
        request.Headers.Add("X-Fields", mask);
        using var response = await http.Client.SendAsync(request);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        return JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement.Clone();
    }
}
