using Whitesky.Api;
using Whitesky.DiskFormats;
using Whitesky.Migrate.Cli;
using Whitesky.Migration.Replication;
using Whitesky.Migration.Sinks;
using Whitesky.Migration.Sources;
using Whitesky.Migration.Transfer;
using Whitesky.Nbd;

namespace Whitesky.Migrate.Replicate;

/// <summary>Opens what <c>replicate</c> and <c>cutover</c> name: change sources and targets, from command-line text.</summary>
internal static class ReplicationEndpoints
{
    /// <summary>The prefix of a whitesky disk target: <c>whitesky:new</c> or <c>whitesky:disk/ID</c>.</summary>
    public const string WhiteskyPrefix = "whitesky:";

    public static bool IsNbdUri(string text) =>
        text.StartsWith("nbd://", StringComparison.OrdinalIgnoreCase) || text.StartsWith("nbds://", StringComparison.OrdinalIgnoreCase)
        || text.StartsWith("nbd+unix://", StringComparison.OrdinalIgnoreCase) || text.StartsWith("nbds+unix://", StringComparison.OrdinalIgnoreCase);

    /// <summary>
    /// <c>bitmap:NAME</c> (SOURCE an NBD URI exporting <c>qemu:dirty-bitmap:NAME</c>), <c>hash</c> (SOURCE an image,
    /// a device or an NBD URI) or <c>snapshots</c> (SOURCE the base image, <paramref name="layers"/> the snapshot layers).
    /// </summary>
    public static async Task<IChangeSource> OpenSourceAsync(string source, string kind, IReadOnlyList<string> layers, CancellationToken cancellationToken)
    {
        if (kind.StartsWith("bitmap:", StringComparison.Ordinal))
        {
            var bitmap = kind["bitmap:".Length..];
            if (bitmap.Length == 0 || !IsNbdUri(source))
            {
                throw new CommandFailedException("--change-source bitmap:NAME needs a bitmap name and an NBD URI as SOURCE (qemu-nbd -B NAME).");
            }

            return await DirtyBitmapChangeSource.ConnectAsync(NbdUri.Parse(source), bitmap, cancellationToken: cancellationToken);
        }

        if (kind == "hash")
        {
            IVirtualDisk disk;
            if (IsNbdUri(source))
            {
                var client = await NbdClient.ConnectAsync(NbdUri.Parse(source), cancellationToken);
                disk = new NbdVirtualDisk(client, source.Split('?')[0]);
            }
            else
            {
                disk = await DiskImage.OpenAsync(RequireFile(source), cancellationToken: cancellationToken);
            }

            return new BlockHashChangeSource(disk, blockSize: 64 * 1024, ownsDisk: true);
        }

        if (kind == "snapshots")
        {
            var snapshots = new SnapshotDeltaChangeSource(RequireFile(source));
            foreach (var layer in layers)
            {
                snapshots.AddLayer(RequireFile(layer));
            }

            return snapshots;
        }

        throw new CommandFailedException($"--change-source {kind} is not one of bitmap:NAME, hash, snapshots.");
    }

    /// <summary>An NBD URI, a raw file (made when missing), or a whitesky disk exposed through the API.</summary>
    public static async Task<(IBlockSink Sink, WhiteskyDiskTarget? Disk, WhiteskyClient? Client)> OpenTargetAsync(string target, string name, long capacity,
        int connections, CancellationToken cancellationToken)
    {
        if (IsNbdUri(target))
        {
            return (await NbdBlockSink.ConnectAsync(NbdUri.Parse(target) with { Connections = connections }, cancellationToken), null, null);
        }

        if (target.StartsWith(WhiteskyPrefix, StringComparison.Ordinal))
        {
            var what = target[WhiteskyPrefix.Length..];
            var client = WhiteskyEnvironment.CreateClient();
            try
            {
                WhiteskyDiskTarget disk;
                if (what == "new")
                {
                    disk = await WhiteskyDiskTarget.CreateAsync(client, name, capacity, connections, cancellationToken);
                }
                else if (what.StartsWith("disk/", StringComparison.Ordinal) && long.TryParse(what["disk/".Length..], out var id))
                {
                    disk = await WhiteskyDiskTarget.OpenAsync(client, id, connections, cancellationToken);
                }
                else
                {
                    throw new CommandFailedException($"TARGET {target} is not whitesky:new or whitesky:disk/ID.");
                }

                return (disk.Sink!, disk, client);
            }
            catch
            {
                client.Dispose();
                throw;
            }
        }

        return (File.Exists(target) ? RawFileSink.Open(target, capacity) : RawFileSink.Create(target, capacity), null, null);
    }

    private static string RequireFile(string path) =>
        File.Exists(path) || path.StartsWith("/dev/", StringComparison.Ordinal) ? path : throw new CommandFailedException($"{path} does not exist.");
}

/// <summary>The whitesky endpoint from the environment (the lines <c>whitesky-migrate emulator</c> prints).</summary>
internal static class WhiteskyEnvironment
{
    public static WhiteskyClient CreateClient()
    {
        static string Require(string name) => Environment.GetEnvironmentVariable(name) is { Length: > 0 } value
            ? value
            : throw new CommandFailedException($"A whitesky target needs {name} in the environment (see: whitesky-migrate emulator).");
        return WhiteskyClient.Create(new WhiteskyClientOptions
        {
            BaseUrl = new Uri(Require("WHITESKY_BASE_URL")),
            Jwt = Require("WHITESKY_JWT"),
            IamUrl = Environment.GetEnvironmentVariable("WHITESKY_IAM_URL") is { Length: > 0 } iam ? new Uri(iam) : null,
            CustomerId = Require("WHITESKY_CUSTOMER_ID"),
            CloudspaceId = Require("WHITESKY_CLOUDSPACE_ID"),
            Location = Environment.GetEnvironmentVariable("WHITESKY_LOCATION"),
            PollInterval = TimeSpan.FromMilliseconds(200),
        });
    }
}
