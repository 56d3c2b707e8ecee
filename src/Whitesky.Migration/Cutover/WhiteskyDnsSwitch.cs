using Whitesky.Api;
using Whitesky.Api.Models;

namespace Whitesky.Migration.Cutover;

/// <summary>One DNS record a cutover points at the target.</summary>
/// <param name="Domain">The domain name.</param>
/// <param name="Type">The record type (A, AAAA, CNAME).</param>
/// <param name="Value">The target's value (an address, a name).</param>
public sealed record DnsRecordChange(string Domain, string Type, string Value);

/// <summary>
/// <see cref="IDnsSwitch"/> through whitesky's DNS records: for each change, the records of that domain and type
/// are read (kept for revert), deleted, and the new one added; revert deletes it and adds the kept records back.
/// </summary>
public sealed class WhiteskyDnsSwitch : IDnsSwitch
{
    private readonly WhiteskyClient _client;
    private readonly IReadOnlyList<DnsRecordChange> _changes;
    private readonly List<DnsRecord> _previous = [];

    /// <summary>Switches <paramref name="changes"/> through <paramref name="client"/>.</summary>
    public WhiteskyDnsSwitch(WhiteskyClient client, IReadOnlyList<DnsRecordChange> changes)
    {
        ArgumentNullException.ThrowIfNull(client);
        ArgumentNullException.ThrowIfNull(changes);
        _client = client;
        _changes = changes;
    }

    /// <summary>The records that were there before the switch.</summary>
    public IReadOnlyList<DnsRecord> Previous => _previous;

    /// <inheritdoc/>
    public async Task SwitchAsync(CancellationToken cancellationToken)
    {
        var existing = await _client.ListDnsRecordsAsync(cancellationToken: cancellationToken).ConfigureAwait(false);
        _previous.Clear();
        foreach (var change in _changes)
        {
            var matching = existing.Where(r => Matches(r, change)).ToList();
            _previous.AddRange(matching);
            if (matching.Count > 0)
            {
                await _client.DeleteDnsRecordAsync(change.Domain, change.Type, cancellationToken).ConfigureAwait(false);
            }

            await _client.AddDnsRecordAsync(new AddDnsRecordRequest { Domain = change.Domain, Type = change.Type, Value = change.Value }, cancellationToken)
                .ConfigureAwait(false);
        }
    }

    /// <inheritdoc/>
    public async Task RevertAsync(CancellationToken cancellationToken)
    {
        var existing = await _client.ListDnsRecordsAsync(cancellationToken: cancellationToken).ConfigureAwait(false);
        foreach (var change in _changes)
        {
            if (existing.Any(r => Matches(r, change)))
            {
                await _client.DeleteDnsRecordAsync(change.Domain, change.Type, cancellationToken).ConfigureAwait(false);
            }

            foreach (var record in _previous.Where(r => Matches(r, change)))
            {
                await _client.AddDnsRecordAsync(new AddDnsRecordRequest
                {
                    Domain = record.DomainName,
                    Type = record.Type,
                    Value = record.Value,
                    Priority = record.Priority,
                    Weight = record.Weight,
                }, cancellationToken).ConfigureAwait(false);
            }
        }
    }

    private static bool Matches(DnsRecord record, DnsRecordChange change) =>
        string.Equals(record.DomainName.TrimEnd('.'), change.Domain.TrimEnd('.'), StringComparison.OrdinalIgnoreCase)
        && string.Equals(record.Type, change.Type, StringComparison.OrdinalIgnoreCase);
}
