using Refit;

namespace Whitesky.Api.Models;

/// <summary>The query parameters of <c>listCloudspaces</c>.</summary>
public sealed record ListCloudspacesQuery
{
    /// <summary>Include deleted cloudspaces.</summary>
    [AliasAs("include_deleted")]
    public bool? IncludeDeleted { get; init; }

    /// <summary>Only deleted cloudspaces.</summary>
    [AliasAs("only_deleted")]
    public bool? OnlyDeleted { get; init; }

    /// <summary>Include disabled cloudspaces (the platform's default is true).</summary>
    [AliasAs("include_disabled")]
    public bool? IncludeDisabled { get; init; }

    /// <summary>Only these locations (sent comma-separated).</summary>
    [AliasAs("locations")]
    [Query(CollectionFormat.Csv)]
    public IReadOnlyList<string>? Locations { get; init; }

    /// <summary>Filter storage-only locations.</summary>
    [AliasAs("filter_storage_only")]
    public bool? FilterStorageOnly { get; init; }
}
