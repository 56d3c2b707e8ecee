using Microsoft.Extensions.DependencyInjection.Extensions;
using Whitesky.Migration.Paths.Ovf;

namespace Microsoft.Extensions.DependencyInjection;

public static partial class MigrationServiceCollectionExtensions
{
    // OvfS3Import needs only WhiteskyClient (from AddWhiteskyApi) and a logger; S3 clients are made per import from its options.
    static partial void AddOvfS3Import(IServiceCollection services) =>
        services.TryAddTransient(provider => new OvfS3Import(
            provider.GetRequiredService<Whitesky.Api.WhiteskyClient>(),
            provider.GetService<Microsoft.Extensions.Logging.ILogger<OvfS3Import>>()));
}
