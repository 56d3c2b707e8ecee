using System.Net;

namespace Whitesky.Emulator.Tests;

/// <summary>The cloudspace's DNS records (alpha routes): add, list, delete by domain and type.</summary>
public class DnsTests
{
    [Fact]
    public async Task Records_are_added_listed_and_deleted_by_domain_and_type()
    {
        await using var emulator = await WhiteskyEmulator.StartAsync();
        using var http = new EmulatorHttp(emulator);
        Assert.Empty((await http.OkAsync(HttpMethod.Get, http.Dns)).GetProperty("result").EnumerateArray());

        await http.OkAsync(HttpMethod.Post, $"{http.Dns}?domain=app.example.com&type=A&value=10.0.0.7");
        await http.OkAsync(HttpMethod.Post, $"{http.Dns}?domain=app.example.com&type=TXT&value=hello");
        await http.OkAsync(HttpMethod.Post, $"{http.Dns}?domain=example.com&type=MX&value=mail.example.com&priority=10");
        await http.ExpectAsync(HttpStatusCode.Conflict, HttpMethod.Post, $"{http.Dns}?domain=app.example.com&type=A&value=10.0.0.7");
        await http.ExpectAsync(HttpStatusCode.BadRequest, HttpMethod.Post, $"{http.Dns}?domain=app.example.com&type=PTR&value=x");
        await http.ExpectAsync(HttpStatusCode.BadRequest, HttpMethod.Post, $"{http.Dns}?domain=app.example.com&type=CAA&flag=5");

        var records = (await http.OkAsync(HttpMethod.Get, $"{http.Dns}?cs_only=true")).GetProperty("result").EnumerateArray().ToList();
        Assert.Equal(["app.example.com A 10.0.0.7", "app.example.com TXT hello", "example.com MX mail.example.com"],
            records.Select(r => $"{r.GetProperty("domain_name").GetString()} {r.GetProperty("type").GetString()} {r.GetProperty("value").GetString()}"));
        Assert.Equal(10, records[2].GetProperty("priority").GetInt32());

        await http.OkAsync(HttpMethod.Delete, $"{http.Dns}/app.example.com?record_type=A");
        var notFound = await http.ExpectAsync(HttpStatusCode.NotFound, HttpMethod.Delete, $"{http.Dns}/app.example.com?record_type=A");
        Assert.Equal("DnsRecord matching query does not exist.", notFound.GetProperty("message").GetString());
        await http.ExpectAsync(HttpStatusCode.BadRequest, HttpMethod.Delete, $"{http.Dns}/app.example.com");
        Assert.Equal(["TXT", "MX"], (await http.OkAsync(HttpMethod.Get, http.Dns)).GetProperty("result").EnumerateArray().Select(r => r.GetProperty("type").GetString()));
    }
}
