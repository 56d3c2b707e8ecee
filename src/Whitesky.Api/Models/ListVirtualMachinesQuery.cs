using Refit;

namespace Whitesky.Api.Models;

/// <summary>The query parameters of <c>listCloudspaceVirtualMachines</c>.</summary>
public sealed record ListVirtualMachinesQuery
{
    /// <summary>Include deleted VMs.</summary>
    [AliasAs("include_deleted")]
    public bool? IncludeDeleted { get; init; }

    /// <summary>Only deleted VMs.</summary>
    [AliasAs("only_deleted")]
    public bool? OnlyDeleted { get; init; }

    /// <summary>Include VMs connected to the cloudspace.</summary>
    [AliasAs("include_connected")]
    public bool? IncludeConnected { get; init; }

    /// <summary>Exclude internal VMs.</summary>
    [AliasAs("exclude_internal")]
    public bool? ExcludeInternal { get; init; }
}
