using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Logging;
using Whitesky.Api;
using Whitesky.Migration.Paths.Streaming;
using Whitesky.Migration.Transfer;

namespace Microsoft.Extensions.DependencyInjection;

public static partial class MigrationServiceCollectionExtensions
{
    static partial void AddStreamingImport(IServiceCollection services) =>
        services.TryAddTransient(provider => new StreamingDiskImport(
            provider.GetRequiredService<WhiteskyClient>(),
            provider.GetService<DiskTransferOptions>(),
            provider.GetService<ILoggerFactory>()));
}
