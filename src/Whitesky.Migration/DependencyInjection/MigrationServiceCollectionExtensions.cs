using Microsoft.Extensions.DependencyInjection.Extensions;
using Whitesky.Migration.Transfer;

namespace Microsoft.Extensions.DependencyInjection;

/// <summary>Registers the migration paths on top of <c>AddWhiteskyApi</c>.</summary>
public static partial class MigrationServiceCollectionExtensions
{
    /// <summary>
    /// Adds the transfer engine and the migration paths (streaming import, OVF via S3, recovery boot,
    /// replication), with <paramref name="transfer"/> as the engine's defaults. Call <c>services.AddWhiteskyApi(...)</c> as well: the paths use its <c>WhiteskyClient</c>.
    /// </summary>
    public static IServiceCollection AddWhiteskyMigration(this IServiceCollection services, DiskTransferOptions? transfer = null)
    {
        ArgumentNullException.ThrowIfNull(services);
        services.TryAddSingleton(transfer ?? new DiskTransferOptions());
        AddStreamingImport(services);
        AddOvfS3Import(services);
        AddRecoveryBoot(services);
        AddReplication(services);
        return services;
    }

    // Each path registers itself in its own file (Paths/*/...Registration.cs).
    static partial void AddStreamingImport(IServiceCollection services);

    static partial void AddOvfS3Import(IServiceCollection services);

    static partial void AddRecoveryBoot(IServiceCollection services);

    static partial void AddReplication(IServiceCollection services);
}
