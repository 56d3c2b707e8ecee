using System.CommandLine;
using System.Text.Json;
using Whitesky.Migrate.Info;
using Whitesky.Nbd;

namespace Whitesky.Migrate.Cli;

/// <summary><c>nbd info URI [--map [CONTEXT]] [--json]</c>: describes an export, or maps its extents, like <c>nbdinfo</c>.</summary>
internal static class NbdInfoCommand
{
    public static Command Create(Option<bool> verbose)
    {
        var uri = new Argument<string?>("URI")
        {
            Description = "The export: nbd://host[:port]/export, nbd+unix:///export?socket=PATH, nbds://user@host/export?tls-psk-file=FILE.",
            Arity = ArgumentArity.ZeroOrOne,
        };
        var map = new Option<string?>("--map")
        {
            Description = "Print the extent map of a meta context (default base:allocation; e.g. qemu:dirty-bitmap:NAME) instead of the description.",
            Arity = ArgumentArity.ZeroOrOne,
            HelpName = "CONTEXT",
        };
        var json = new Option<bool>("--json") { Description = "Print one JSON document." };

        var command = new Command("info", "Describe an NBD export (size, flags, block sizes, TLS, meta contexts) or print its extent map.")
        {
            uri,
            map,
            json,
        };
        command.SetAction((parseResult, cancellationToken) => CommandExecution.RunAsync(parseResult, verbose, (context, ct) =>
        {
            var target = parseResult.GetValue(uri);
            var wantsMap = parseResult.GetResult(map) is not null;
            var mapContext = parseResult.GetValue(map);

            // "--map URI" reads as --map=URI to the parser; nbdinfo users type it that way, so accept it.
            if (target is null && mapContext is not null && mapContext.Contains("://", StringComparison.Ordinal))
            {
                target = mapContext;
                mapContext = null;
            }

            if (string.IsNullOrEmpty(target))
            {
                throw new CommandFailedException("nbd info needs the URI of an export, e.g. nbd://localhost/disk or nbd+unix:///?socket=/run/nbd.sock.");
            }

            return wantsMap
                ? PrintMapAsync(context, target, string.IsNullOrEmpty(mapContext) ? NbdMetaContexts.BaseAllocation : mapContext, parseResult.GetValue(json), ct)
                : PrintInfoAsync(context, target, parseResult.GetValue(json), ct);
        }, cancellationToken));
        return command;
    }

    private static async Task<int> PrintInfoAsync(CommandContext context, string uri, bool json, CancellationToken cancellationToken)
    {
        var options = NbdUri.Parse(uri) with { LoggerFactory = context.LoggerFactory };
        var report = await ExportReportReader.ReadAsync(options, cancellationToken);
        if (json)
        {
            await context.Output.WriteLineAsync(JsonSerializer.Serialize(report, InfoJsonContext.Default.ExportReport));
        }
        else
        {
            await ExportReportText.WriteAsync(context.Output, report, uri);
        }

        return CommandExecution.Success;
    }

    private static async Task<int> PrintMapAsync(CommandContext context, string uri, string metaContext, bool json, CancellationToken cancellationToken)
    {
        var options = NbdUri.Parse(uri) with { LoggerFactory = context.LoggerFactory, MetaContexts = [metaContext] };
        var client = await NbdClient.ConnectAsync(options, cancellationToken);
        await using (client)
        {
            if (!client.Export.MetaContexts.Contains(metaContext, StringComparer.Ordinal))
            {
                throw new CommandFailedException(client.Export.StructuredReplies
                    ? $"The NBD server does not offer meta context '{metaContext}' for export '{client.Export.Name}'; `nbd info` without --map lists the contexts it offers."
                    : $"The NBD server does not support structured replies, so it cannot report the extents of '{metaContext}'.");
            }

            var extents = await ExtentMapReader.ReadAsync(client, metaContext, cancellationToken);
            if (json)
            {
                await context.Output.WriteLineAsync(JsonSerializer.Serialize(extents, InfoJsonContext.Default.IReadOnlyListExtentMapEntry));
            }
            else
            {
                await ExtentMapText.WriteAsync(context.Output, extents);
            }
        }

        return CommandExecution.Success;
    }
}
