using System.Net.Http.Json;
using System.Security.Cryptography;
using System.Text.Json;
using Amazon.Runtime;
using Amazon.S3;
using Amazon.S3.Model;
using Whitesky.Api;
using Whitesky.Emulator;
using Whitesky.Emulator.Storage;
using Whitesky.Migration.Paths.Ovf;
using Whitesky.Migration.S3;
using Whitesky.Migration.Tests.S3;
using Whitesky.Nbd.Tests.Peers;

namespace Whitesky.IntegrationTests.OvfS3;

/// <summary>The embedded emulator, s3rver (from .peers; missing, the test fails), an API client and a wire counter for S3 part uploads.</summary>
internal sealed class OvfS3TestBed : IAsyncDisposable
{
    public const string Bucket = "imports";
    private readonly HttpClient _admin = new();

    private OvfS3TestBed(WhiteskyEmulator emulator, S3rverServer s3)
    {
        Emulator = emulator;
        S3 = s3;
        Client = WhiteskyClient.Create(new WhiteskyClientOptions
        {
            BaseUrl = emulator.BaseUrl,
            Jwt = emulator.Jwt,
            IamUrl = emulator.IamUrl,
            CustomerId = emulator.CustomerId,
            CloudspaceId = emulator.CloudspaceId,
            Location = emulator.Location,
        });
    }

    public WhiteskyEmulator Emulator { get; }

    public S3rverServer S3 { get; }

    public WhiteskyClient Client { get; }

    public CountingHttpClientFactory Wire { get; } = new();

    public TempDirectory Dir { get; } = new();

    public S3StorageOptions Storage => new() { Endpoint = S3.Endpoint, AccessKey = S3.AccessKey, SecretKey = S3.SecretKey };

    public static async Task<OvfS3TestBed> StartAsync(WhiteskyEmulatorOptions? options = null)
    {
        var s3 = await S3rverServer.StartAsync(new S3rverOptions { Buckets = [Bucket] });
        try
        {
            return new OvfS3TestBed(await WhiteskyEmulator.StartAsync(options), s3);
        }
        catch
        {
            await s3.DisposeAsync();
            throw;
        }
    }

    /// <summary>An import whose S3 client counts accepted part uploads in <see cref="Wire"/>.</summary>
    public OvfS3Import CreateImport() => new(Client, null, storage =>
    {
        var config = storage.CreateConfig();
        config.HttpClientFactory = Wire;
        return new AmazonS3Client(new BasicAWSCredentials(storage.AccessKey, storage.SecretKey), config);
    });

    public OvfS3ImportOptions Options(string source) => new()
    {
        Source = source,
        Storage = Storage,
        Bucket = Bucket,
        PollInterval = TimeSpan.FromMilliseconds(50),
        ImportTimeout = TimeSpan.FromSeconds(60),
        WorkDirectory = Dir.File("work"),
    };

    public async Task<IReadOnlyList<string>> ListObjectsAsync()
    {
        using var client = Storage.CreateClient();
        var response = await client.ListObjectsV2Async(new ListObjectsV2Request { BucketName = Bucket });
        return [.. (response.S3Objects ?? []).Select(o => o.Key)];
    }

    public async Task<JsonElement> AdminAsync(string path) =>
        await _admin.GetFromJsonAsync<JsonElement>(new Uri(Emulator.AdminUrl + path));

    /// <summary>SHA-256 of the disk file's first <paramref name="length"/> bytes; asserts everything after them reads as zeroes.</summary>
    public async Task<string> DiskSha256Async(long diskId, long length)
    {
        var path = (await AdminAsync($"/disks/{diskId}")).GetProperty("path").GetString()!;
        await using var file = File.OpenRead(path);
        using var sha = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        var buffer = new byte[1 << 20];
        long position = 0;
        int read;
        while ((read = await file.ReadAsync(buffer)) > 0)
        {
            var hashed = (int)Math.Clamp(length - position, 0, read);
            sha.AppendData(buffer, 0, hashed);
            Assert.False(buffer.AsSpan(hashed, read - hashed).ContainsAnyExcept((byte)0), $"disk {diskId} has data after byte {length}");
            position += read;
        }

        Assert.True(position >= length, $"disk {diskId} is {position} bytes, smaller than {length}");
        return Convert.ToHexString(sha.GetHashAndReset());
    }

    /// <summary>qemu-img convert -O raw of an image: its length and SHA-256.</summary>
    public async Task<(long Length, string Sha256)> QemuRawAsync(string image)
    {
        var raw = Dir.File(Path.GetFileName(image) + ".expected.raw");
        await ExternalTool.RunAsync("qemu-img", ["convert", "-O", "raw", image, raw]);
        var result = (new FileInfo(raw).Length, await TestData.Sha256FileAsync(raw));
        File.Delete(raw);
        return result;
    }

    /// <summary>A qcow2 made by qemu-img from a raw file with random data at a few places (incompressible, so OVAs have several parts).</summary>
    public async Task<string> MakeQcow2Async(string name, long capacity, params (long Offset, int Length, int Seed)[] data)
    {
        var raw = Dir.File(name + ".src.raw");
        await using (var file = new FileStream(raw, FileMode.Create, FileAccess.Write))
        {
            file.SetLength(capacity);
            foreach (var (offset, length, seed) in data)
            {
                file.Position = offset;
                await file.WriteAsync(TestData.Random(length, seed));
            }
        }

        var qcow2 = Dir.File(name + ".qcow2");
        await ExternalTool.RunAsync("qemu-img", ["convert", "-f", "raw", "-O", "qcow2", raw, qcow2]);
        File.Delete(raw);
        return qcow2;
    }

    public async ValueTask DisposeAsync()
    {
        Client.Dispose();
        _admin.Dispose();
        await Emulator.DisposeAsync();
        await S3.DisposeAsync();
        Dir.Dispose();
    }
}
