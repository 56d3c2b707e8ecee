using Amazon.Runtime;
using Amazon.S3;

namespace Whitesky.Migration.S3;

/// <summary>
/// Where an S3-compatible store is and how to sign for it: AWS, a whitesky objectspace, MinIO, Ceph, s3rver.
/// The secret never appears in <see cref="ToString"/>.
/// </summary>
public sealed record S3StorageOptions
{
    /// <summary>The endpoint (<c>https://s3.example.com</c>, <c>http://127.0.0.1:4568</c>).</summary>
    public required Uri Endpoint { get; init; }

    /// <summary>The access key id.</summary>
    public required string AccessKey { get; init; }

    /// <summary>The secret key.</summary>
    public required string SecretKey { get; init; }

    /// <summary>The signing region. Default <c>us-east-1</c>.</summary>
    public string Region { get; init; } = "us-east-1";

    /// <summary>Path-style addressing (<c>endpoint/bucket/key</c>), which S3-compatible stores need. Default true.</summary>
    public bool ForcePathStyle { get; init; } = true;

    /// <summary>
    /// Builds the SDK configuration for this store. Flexible checksums are sent and checked only when an
    /// operation requires them: the SDK's default (<c>aws-chunked</c> bodies with checksum trailers) is
    /// refused or mis-stored by most S3-compatible stores. Integrity comes from Content-MD5 instead.
    /// </summary>
    public AmazonS3Config CreateConfig() => new()
    {
        ServiceURL = Endpoint.ToString(),
        ForcePathStyle = ForcePathStyle,
        AuthenticationRegion = Region,
        RequestChecksumCalculation = RequestChecksumCalculation.WHEN_REQUIRED,
        ResponseChecksumValidation = ResponseChecksumValidation.WHEN_REQUIRED,
    };

    /// <summary>Creates a client for this store (the caller disposes it).</summary>
    public IAmazonS3 CreateClient() => new AmazonS3Client(new BasicAWSCredentials(AccessKey, SecretKey), CreateConfig());

    /// <summary>The endpoint and key id, never the secret.</summary>
    public override string ToString() => $"S3StorageOptions {{ Endpoint = {Endpoint}, AccessKey = {AccessKey}, Region = {Region}, ForcePathStyle = {ForcePathStyle} }}";
}
