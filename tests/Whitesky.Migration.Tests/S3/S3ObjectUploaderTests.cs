using Amazon.Runtime;
using Amazon.S3;
using Whitesky.Migration.S3;
using Whitesky.Nbd.Tests.Peers;

namespace Whitesky.Migration.Tests.S3;

/// <summary>Multipart uploads against s3rver: parallel parts, content read back, interruption and resume, delete.</summary>
public class S3ObjectUploaderTests
{
    private const long PartSize = 5L << 20;

    [Fact]
    public async Task A_file_uploads_in_parallel_parts_and_reads_back_byte_for_byte()
    {
        await using var s3 = await S3rverProcess.StartAsync();
        using var dir = new TempDirectory();
        var file = dir.File("vm.ova");
        await File.WriteAllBytesAsync(file, TestData.Random((int)(4 * PartSize) + 12345, 1));
        var (uploader, wire) = Uploader(s3);
        using var _ = uploader;
        var reports = new List<S3UploadProgress>();

        var result = await uploader.UploadFileAsync(file, S3rverProcess.Bucket, "staging/vm.ova",
            new S3UploadOptions { PartSize = PartSize, MaxConcurrency = 3 }, new InlineProgress<S3UploadProgress>(reports.Add));

        Assert.Equal(5, wire.PartsAccepted);
        Assert.Equal((5, 0, new FileInfo(file).Length), (result.PartsUploaded, result.PartsReused, result.Length));
        var last = reports.MaxBy(r => r.PartsDone)!;
        Assert.Equal((5, 5, result.Length), (last.PartsDone, last.PartsTotal, last.BytesDone));
        Assert.Equal(await TestData.Sha256FileAsync(file), await ObjectSha256Async(s3, "staging/vm.ova"));
    }

    [Fact]
    public async Task With_sha256_checksums_every_part_carries_its_sha256_on_the_wire()
    {
        await using var s3 = await S3rverProcess.StartAsync();
        using var dir = new TempDirectory();
        var file = dir.File("c.ova");
        var content = TestData.Random((int)(2 * PartSize) + 4242, 9);
        await File.WriteAllBytesAsync(file, content);
        var (uploader, wire) = Uploader(s3);
        using var _ = uploader;

        await uploader.UploadFileAsync(file, S3rverProcess.Bucket, "c.ova", new S3UploadOptions { PartSize = PartSize, Sha256PartChecksums = true });

        Assert.Equal(3, wire.PartsAccepted);
        for (var part = 1; part <= 3; part++)
        {
            var start = (int)((part - 1) * PartSize);
            var slice = content.AsSpan(start, (int)Math.Min(PartSize, content.Length - start));
            Assert.Equal(Convert.ToBase64String(System.Security.Cryptography.SHA256.HashData(slice)), wire.PartSha256[part]);
        }

        Assert.Equal(await TestData.Sha256FileAsync(file), await ObjectSha256Async(s3, "c.ova"));
    }

    [Fact]
    public async Task An_interrupted_upload_resumes_and_sends_only_the_parts_the_store_does_not_hold()
    {
        await using var s3 = await S3rverProcess.StartAsync();
        using var dir = new TempDirectory();
        var file = dir.File("big.ova");
        await File.WriteAllBytesAsync(file, TestData.Random((int)(6 * PartSize) + 777, 2));
        var (uploader, wire) = Uploader(s3);
        using var _ = uploader;

        using var cts = new CancellationTokenSource();
        var options = new S3UploadOptions { PartSize = PartSize, MaxConcurrency = 2 };
        var canceled = await Assert.ThrowsAsync<S3UploadCanceledException>(() => uploader.UploadFileAsync(file, S3rverProcess.Bucket, "big.ova", options,
            new InlineProgress<S3UploadProgress>(p => { if (p.PartsDone >= 2) { cts.Cancel(); } }), cts.Token));
        var checkpoint = canceled.Checkpoint!;
        var held = checkpoint.Parts.Count;
        Assert.InRange(held, 2, 6);
        Assert.Equal(held, wire.PartsAccepted);

        wire.Reset();
        var result = await uploader.UploadFileAsync(file, S3rverProcess.Bucket, "big.ova", options with { Resume = checkpoint });

        Assert.Equal(7 - held, wire.PartsAccepted);
        Assert.Equal((7 - held, held), (result.PartsUploaded, result.PartsReused));
        Assert.Equal(checkpoint.UploadId, result.UploadId);
        Assert.Equal(await TestData.Sha256FileAsync(file), await ObjectSha256Async(s3, "big.ova"));
    }

    [Fact]
    public async Task A_resumed_part_whose_etag_does_not_match_the_file_is_sent_again()
    {
        await using var s3 = await S3rverProcess.StartAsync();
        using var dir = new TempDirectory();
        var file = dir.File("d.ova");
        await File.WriteAllBytesAsync(file, TestData.Random((int)(3 * PartSize), 3));
        var (uploader, wire) = Uploader(s3);
        using var _ = uploader;

        using var cts = new CancellationTokenSource();
        var options = new S3UploadOptions { PartSize = PartSize, MaxConcurrency = 1 };
        var canceled = await Assert.ThrowsAsync<S3UploadCanceledException>(() => uploader.UploadFileAsync(file, S3rverProcess.Bucket, "d.ova", options,
            new InlineProgress<S3UploadProgress>(p => { if (p.PartsDone >= 2) { cts.Cancel(); } }), cts.Token));
        var checkpoint = canceled.Checkpoint!;
        Assert.Equal(2, checkpoint.Parts.Count);

        // The local file changed under part 1 since: its stored copy must not be reused.
        await using (var stream = new FileStream(file, FileMode.Open, FileAccess.Write))
        {
            stream.Position = 100;
            stream.WriteByte(0xAB);
        }

        wire.Reset();
        var result = await uploader.UploadFileAsync(file, S3rverProcess.Bucket, "d.ova", options with { Resume = checkpoint });
        Assert.Equal(2, wire.PartsAccepted);
        Assert.Equal((2, 1), (result.PartsUploaded, result.PartsReused));
        Assert.Equal(await TestData.Sha256FileAsync(file), await ObjectSha256Async(s3, "d.ova"));
    }

    [Fact]
    public async Task A_small_file_is_one_part_and_can_be_deleted_afterwards()
    {
        await using var s3 = await S3rverProcess.StartAsync();
        using var dir = new TempDirectory();
        var file = dir.File("s.ova");
        await File.WriteAllBytesAsync(file, TestData.Random(1000, 4));
        var (uploader, wire) = Uploader(s3);
        using var _ = uploader;

        await uploader.UploadFileAsync(file, S3rverProcess.Bucket, "s.ova");
        Assert.Equal(1, wire.PartsAccepted);
        Assert.Equal(await TestData.Sha256FileAsync(file), await ObjectSha256Async(s3, "s.ova"));

        await uploader.DeleteAsync(S3rverProcess.Bucket, "s.ova");
        using var client = s3.Storage.CreateClient();
        var missing = await Assert.ThrowsAnyAsync<AmazonS3Exception>(() => client.GetObjectAsync(S3rverProcess.Bucket, "s.ova"));
        Assert.Equal(System.Net.HttpStatusCode.NotFound, missing.StatusCode);
    }

    [Fact]
    public async Task Wrong_credentials_fail_with_an_error_naming_the_object_and_no_secret()
    {
        await using var s3 = await S3rverProcess.StartAsync();
        using var dir = new TempDirectory();
        var file = dir.File("s.ova");
        await File.WriteAllBytesAsync(file, TestData.Random(1000, 4));
        var storage = s3.Storage with { AccessKey = "NOBODY", SecretKey = "hunter2-secret" };
        using var uploader = new S3ObjectUploader(storage);

        var error = await Assert.ThrowsAsync<S3TransferException>(() => uploader.UploadFileAsync(file, S3rverProcess.Bucket, "s.ova"));
        Assert.Contains("imports/s.ova", error.Message, StringComparison.Ordinal);
        Assert.DoesNotContain("hunter2", error.Message, StringComparison.Ordinal);
        Assert.DoesNotContain("hunter2", storage.ToString(), StringComparison.Ordinal);
    }

    private static (S3ObjectUploader Uploader, CountingHttpClientFactory Wire) Uploader(S3rverProcess s3)
    {
        var wire = new CountingHttpClientFactory();
        var config = s3.Storage.CreateConfig();
        config.HttpClientFactory = wire;
        var client = new AmazonS3Client(new BasicAWSCredentials("S3RVER", "S3RVER"), config);
        return (new S3ObjectUploader(client, ownsClient: true), wire);
    }

    private static async Task<string> ObjectSha256Async(S3rverProcess s3, string key)
    {
        using var client = s3.Storage.CreateClient();
        using var response = await client.GetObjectAsync(S3rverProcess.Bucket, key);
        using var sha = System.Security.Cryptography.SHA256.Create();
        return Convert.ToHexString(await sha.ComputeHashAsync(response.ResponseStream));
    }

    private sealed class InlineProgress<T>(Action<T> report) : IProgress<T>
    {
        private readonly Lock _lock = new();

        public void Report(T value)
        {
            lock (_lock)
            {
                report(value);
            }
        }
    }
}
