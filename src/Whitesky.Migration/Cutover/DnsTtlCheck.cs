using System.Net;
using DnsClient;

namespace Whitesky.Migration.Cutover;

/// <summary>The TTL a DNS name answers with.</summary>
/// <param name="Name">The name asked for.</param>
/// <param name="Ttl">The largest TTL among the answer's records; null when the name does not resolve.</param>
/// <param name="WithinLimit">Whether clients will see a switch within the planned time.</param>
public sealed record DnsTtlFinding(string Name, TimeSpan? Ttl, bool WithinLimit);

/// <summary>
/// Reads the TTL of the records a cutover will switch: clients cache the old address that long, so a TTL above
/// the planned switch time means users keep reaching the stopped source after the cutover.
/// </summary>
public static class DnsTtlCheck
{
    /// <summary>Asks <paramref name="nameServer"/> (or the system's resolvers) for the A records of each name, else AAAA, else CNAME.</summary>
    public static async Task<IReadOnlyList<DnsTtlFinding>> CheckAsync(IEnumerable<string> names, TimeSpan maxTtl, IPEndPoint? nameServer = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(names);
        var options = nameServer is null ? new LookupClientOptions() : new LookupClientOptions(nameServer);
        options.UseCache = false;
        options.Timeout = TimeSpan.FromSeconds(5);
        options.Retries = 1;
        var client = new LookupClient(options);
        var findings = new List<DnsTtlFinding>();
        foreach (var name in names)
        {
            var ttl = default(TimeSpan?);
            foreach (var type in new[] { QueryType.A, QueryType.AAAA, QueryType.CNAME })
            {
                var response = await client.QueryAsync(name, type, QueryClass.IN, cancellationToken).ConfigureAwait(false);
                if (response.HasError && response.Header.ResponseCode != DnsHeaderResponseCode.NotExistentDomain)
                {
                    throw new InvalidOperationException($"DNS lookup of {name} ({type}) failed: {response.ErrorMessage}.");
                }

                foreach (var record in response.Answers)
                {
                    var seconds = TimeSpan.FromSeconds(record.TimeToLive);
                    ttl = ttl is { } t && t > seconds ? t : seconds;
                }

                if (ttl is not null || response.Header.ResponseCode == DnsHeaderResponseCode.NotExistentDomain)
                {
                    break; // the first record type that answers is what clients cache
                }
            }

            findings.Add(new DnsTtlFinding(name, ttl, ttl is null || ttl <= maxTtl));
        }

        return findings;
    }
}
