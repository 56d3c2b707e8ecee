using Amazon.Runtime;

namespace Whitesky.Migration.Tests.S3;

/// <summary>Gives the AWS SDK an HttpClient that counts the part uploads that reached the store and were accepted.</summary>
public sealed class CountingHttpClientFactory : HttpClientFactory
{
    private int _partsAccepted;

    /// <summary>The x-amz-checksum-sha256 header of each accepted part, by part number.</summary>
    public System.Collections.Concurrent.ConcurrentDictionary<int, string?> PartSha256 { get; } = new();

    public int PartsAccepted => Volatile.Read(ref _partsAccepted);

    public void Reset() => Interlocked.Exchange(ref _partsAccepted, 0);

    public override HttpClient CreateHttpClient(IClientConfig clientConfig) => new(new CountingHandler(this));

    public override bool UseSDKHttpClientCaching(IClientConfig clientConfig) => false;

    public override bool DisposeHttpClientsAfterUse(IClientConfig clientConfig) => true;

    private sealed class CountingHandler(CountingHttpClientFactory owner) : DelegatingHandler(new HttpClientHandler())
    {
        protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
        {
            var response = await base.SendAsync(request, cancellationToken);
            if (request.Method == HttpMethod.Put && request.RequestUri!.Query.Contains("partNumber=", StringComparison.Ordinal) && response.IsSuccessStatusCode)
            {
                Interlocked.Increment(ref owner._partsAccepted);
                var number = int.Parse(System.Web.HttpUtility.ParseQueryString(request.RequestUri.Query)["partNumber"]!, System.Globalization.CultureInfo.InvariantCulture);
                owner.PartSha256[number] = request.Headers.TryGetValues("x-amz-checksum-sha256", out var values) ? values.Single()
                    : request.Content?.Headers.TryGetValues("x-amz-checksum-sha256", out var contentValues) == true ? contentValues.Single() : null;
            }

            return response;
        }
    }
}
