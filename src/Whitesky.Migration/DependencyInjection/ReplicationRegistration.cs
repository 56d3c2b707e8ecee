using Microsoft.Extensions.DependencyInjection.Extensions;
using Whitesky.Migration.Cutover;

namespace Microsoft.Extensions.DependencyInjection;

/// <summary>The nearly-online path: the cutover runner (replication sessions are made per disk with <c>ReplicationSession.OpenAsync</c>).</summary>
public static partial class MigrationServiceCollectionExtensions
{
    static partial void AddReplication(IServiceCollection services) =>
        services.TryAddSingleton(sp => new CutoverRunner(
            sp.GetService<Microsoft.Extensions.Logging.ILoggerFactory>(),
            sp.GetService<TimeProvider>()));
}
