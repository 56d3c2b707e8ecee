using System.Collections.Concurrent;
using System.Security.Cryptography;
using System.Text.Json;
using Microsoft.AspNetCore.Http;
using Whitesky.Api.Models;
using Whitesky.Api.Tests.Peers;

namespace Whitesky.Api.Tests.Http;

/// <summary>
/// The multipart CD-ROM upload against a scripted peer that behaves like the platform's upload: it hands out a part
/// size, stores parts and answers their ETags, and on finish checks every part's ETag and assembles the ISO.
/// </summary>
public sealed class CdromUploadTests : IAsyncLifetime
{
    private const int PartSize = 1000;
    private readonly ConcurrentDictionary<int, byte[]> _parts = new();
    private ScriptedHttpServer _server = null!;
    private byte[]? _assembled;
    private int _inFlight;
    private int _maxInFlight;
    private int _failPartOnce = -1;

    public async Task InitializeAsync()
    {
        _server = await ScriptedHttpServer.StartAsync();
        _server.Handle(ServeAsync);
    }

    public async Task DisposeAsync() => await _server.DisposeAsync();

    private async Task ServeAsync(RecordedRequest r, HttpContext ctx)
    {
        const string Base = "/api/1/customers/cust-1/locations/loc-1/cdrom-images/";
        if (r.Method == "POST" && r.Path == Base + "upload-cdrom")
        {
            await ScriptedHttpServer.WriteJsonAsync(ctx, 200, $$"""{"upload_id": "up-1", "object_name": "obj/{{ctx.Request.Query["file_name"]}}", "part_size": {{PartSize}}}""");
            return;
        }

        if (r.Method == "PUT" && r.Path.StartsWith(Base + "up-1/upload-part/", StringComparison.Ordinal))
        {
            var part = int.Parse(r.Path[(Base + "up-1/upload-part/").Length..], System.Globalization.CultureInfo.InvariantCulture);
            var now = Interlocked.Increment(ref _inFlight);
            InterlockedMax(ref _maxInFlight, now);
            try
            {
                if (Interlocked.CompareExchange(ref _failPartOnce, -1, part) == part)
                {
                    await ScriptedHttpServer.WriteJsonAsync(ctx, 503, """{"message": "slow down"}""");
                    return;
                }

                if (ctx.Request.Query["object_name"] != "obj/tools.iso" || r.Headers["Content-Type"] != "application/octet-stream")
                {
                    ctx.Response.StatusCode = 400;
                    return;
                }

                _parts[part] = r.Body;
                ctx.Response.Headers.ETag = $"\"{Convert.ToHexStringLower(MD5.HashData(r.Body))}\"";
                ctx.Response.StatusCode = 200;
            }
            finally
            {
                Interlocked.Decrement(ref _inFlight);
            }

            return;
        }

        if (r.Method == "POST" && r.Path == Base + "up-1/finish-cdrom-upload")
        {
            using var body = JsonDocument.Parse(r.Body);
            var listed = body.RootElement.GetProperty("uploaded_parts").EnumerateArray()
                .Select(p => (Number: p.GetProperty("part_number").GetInt32(), Etag: p.GetProperty("etag").GetString()))
                .ToList();
            var ok = body.RootElement.GetProperty("object_name").GetString() == "obj/tools.iso"
                     && ctx.Request.Query["name"] == "Tools" && ctx.Request.Query["os_type"] == "Windows" && ctx.Request.Query["os_name"] == "Windows - other"
                     && listed.Select(p => p.Number).SequenceEqual(Enumerable.Range(1, _parts.Count))
                     && listed.All(p => p.Etag == $"\"{Convert.ToHexStringLower(MD5.HashData(_parts[p.Number]))}\"");
            if (!ok)
            {
                await ScriptedHttpServer.WriteJsonAsync(ctx, 400, """{"message": "parts do not match"}""");
                return;
            }

            _assembled = listed.SelectMany(p => _parts[p.Number]).ToArray();
            await ScriptedHttpServer.WriteJsonAsync(ctx, 200, """{"cdrom_id": 31}""");
            return;
        }

        ctx.Response.StatusCode = 404;
    }

    private static void InterlockedMax(ref int target, int value)
    {
        int current;
        while ((current = Volatile.Read(ref target)) < value && Interlocked.CompareExchange(ref target, value, current) != current)
        {
        }
    }

    [Theory]
    [InlineData(3500)]
    [InlineData(3000)]
    [InlineData(999)]
    [InlineData(0)]
    public async Task Upload_sends_every_part_and_the_platform_assembles_the_same_bytes(int length)
    {
        var iso = RandomNumberGenerator.GetBytes(length);
        var (client, services) = ClientFactory.Create(_server, o => o.UploadParallelism = 3);
        await using var _ = services;
        var reported = new List<long>();

        var result = await client.UploadCdromAsync(new MemoryStream(iso), "tools.iso", "Tools", OsType.Windows, OsName.WindowsOther, new SyncProgress(reported));

        Assert.NotNull(_assembled);
        Assert.Equal(SHA256.HashData(iso), SHA256.HashData(_assembled));
        Assert.Equal(length, result.Bytes);
        Assert.Equal(Math.Max(1, (length + PartSize - 1) / PartSize), result.Parts.Count);
        Assert.Equal("up-1", result.Upload.UploadId);
        Assert.Equal(31, result.CdromId);
        Assert.Equal(length, reported.DefaultIfEmpty(0).Max());
        Assert.True(_maxInFlight <= 3, $"{_maxInFlight} parts were in flight with a parallelism of 3");
    }

    [Fact]
    public async Task A_part_answered_with_503_is_sent_again()
    {
        _failPartOnce = 2;
        var iso = RandomNumberGenerator.GetBytes(2500);
        var (client, services) = ClientFactory.Create(_server);
        await using var _ = services;

        var result = await client.UploadCdromAsync(new MemoryStream(iso), "tools.iso", "Tools", OsType.Windows, OsName.WindowsOther);

        Assert.Equal(SHA256.HashData(iso), SHA256.HashData(_assembled!));
        Assert.Equal(3, result.Parts.Count);
        Assert.Equal(2, _server.Requests.Count(r => r.Path.EndsWith("/upload-part/2", StringComparison.Ordinal)));
    }

    private sealed class SyncProgress(List<long> values) : IProgress<long>
    {
        public void Report(long value)
        {
            lock (values)
            {
                values.Add(value);
            }
        }
    }
}
