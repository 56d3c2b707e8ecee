using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Logging;
using Whitesky.Api;
using Whitesky.Migration.Paths.Recovery;

namespace Microsoft.Extensions.DependencyInjection;

public static partial class MigrationServiceCollectionExtensions
{
    static partial void AddRecoveryBoot(IServiceCollection services) =>
        services.TryAddTransient(provider => new RecoveryBootImport(
            provider.GetRequiredService<WhiteskyClient>(),
            provider.GetService<ILoggerFactory>()));
}
