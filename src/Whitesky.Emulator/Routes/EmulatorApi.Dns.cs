using System.Globalization;
using Microsoft.AspNetCore.Http;
using Whitesky.Emulator.Http;
using Whitesky.Emulator.Models;
using Whitesky.Emulator.State;

namespace Whitesky.Emulator.Routes;

internal sealed partial class EmulatorApi
{
    private static readonly int[] CaaFlags = [0, 128];

    private void MapDns()
    {
        const string Dns = "/alpha/customers/{customer_id}/cloudspaces/{cloudspace_id}/dns";
        Op("GET", Dns, "getCloudspaceDnsRecords", ListDnsAsync);
        Op("POST", Dns, "AddCloudspaceDomain", AddDnsAsync);
        Op("DELETE", Dns + "/{domain}", "DeleteCloudspaceDnsRecord", DeleteDnsAsync);
    }

    private async Task<IResult> ListDnsAsync(ApiCall call)
    {
        call.Query.Bool("cs_only", false);
        using var _ = await LockAsync(call.Aborted).ConfigureAwait(false);
        var result = _dns.Select(r => new ResourceDnsRecordStruct
        {
            Value = r.Value,
            DomainName = r.Domain,
            Type = r.Type,
            Priority = r.Priority,
            Weight = r.Weight,
            Service = r.Service,
            Protocol = r.Protocol,
            Port = r.Port,
            Tag = r.Tag,
            Flag = r.Flag,
            CaaDomain = r.CaaDomain,
        }).ToList();
        return Ok(new ResultList<ResourceDnsRecordStruct>(result));
    }

    private async Task<IResult> AddDnsAsync(ApiCall call)
    {
        var query = call.Query;
        var domain = query.RequiredString("domain").Trim().TrimEnd('.');
        var type = query.RequiredString("type", SwaggerEnums.DnsRecordType);
        var flag = query.Int("flag");
        if (flag is { } f && !CaaFlags.Contains(f))
        {
            throw ApiError.Argument("flag", string.Create(CultureInfo.InvariantCulture, $"The value '{f}' is not a valid choice for 'flag'."));
        }

        var record = new DnsRecord(
            domain,
            type,
            query.String("value") ?? string.Empty,
            query.Int("priority") ?? 0,
            query.Int("weight") ?? 0,
            query.String("service") ?? string.Empty,
            query.String("protocol") ?? string.Empty,
            query.Int("port") ?? 0,
            query.String("tag") ?? string.Empty,
            flag?.ToString(CultureInfo.InvariantCulture) ?? string.Empty,
            query.String("caa_domain") ?? string.Empty);
        if (domain.Length == 0 || domain.Length > 253 || domain.Contains(' ', StringComparison.Ordinal))
        {
            throw new ApiError(400, $"'{domain}' is not a valid domain name");
        }

        using var _ = await LockAsync(call.Aborted).ConfigureAwait(false);
        if (_dns.Contains(record))
        {
            throw ApiError.Conflict($"A {type} record for {domain} with this value exists already");
        }

        _dns.Add(record);
        return Success();
    }

    private async Task<IResult> DeleteDnsAsync(ApiCall call)
    {
        var type = call.Query.RequiredString("record_type");
        var domain = call.Route("domain").TrimEnd('.');
        using var _ = await LockAsync(call.Aborted).ConfigureAwait(false);
        var removed = _dns.RemoveAll(r => string.Equals(r.Domain, domain, StringComparison.OrdinalIgnoreCase) && string.Equals(r.Type, type, StringComparison.OrdinalIgnoreCase));
        return removed == 0 ? throw new ApiError(404, "DnsRecord matching query does not exist.") : Success();
    }
}
