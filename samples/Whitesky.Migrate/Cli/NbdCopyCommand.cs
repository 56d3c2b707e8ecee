using System.CommandLine;
using System.CommandLine.Parsing;
using System.Globalization;
using Microsoft.Extensions.Logging;
using Whitesky.Migrate.Copy;
using Whitesky.Nbd;

namespace Whitesky.Migrate.Cli;

/// <summary><c>nbd copy FILE URI</c>: copies the allocated data of a raw image file into an NBD export, like <c>nbdcopy FILE URI</c>.</summary>
internal static class NbdCopyCommand
{
    /// <summary>
    /// Like nbdcopy: up to 4, but no more than the cores. More connections than cores only add server
    /// threads competing for them (measured on 2 cores: 2 connections beat 4 on plain, TLS and slow targets).
    /// </summary>
    private static readonly int DefaultConnections = Math.Clamp(Environment.ProcessorCount, 1, 4);
    private const int DefaultRequests = 64;

    public static Command Create(Option<bool> verbose)
    {
        var file = new Argument<string>("FILE") { Description = "The raw disk image to copy (a sparse file copies only its data)." };
        var uri = new Argument<string>("URI") { Description = "The target export, e.g. nbd://host/disk or nbds://user@host/disk?tls-psk-file=FILE." };
        var connections = new Option<int>("--connections", "-C")
        {
            Description = "Connections to open when the export allows multi-conn (otherwise 1). Default: the number of cores, at most 4.",
            DefaultValueFactory = _ => DefaultConnections,
        };
        connections.Validators.Add(result => Range(result, connections, 1, 64));
        var requests = new Option<int>("--requests", "-R")
        {
            Description = "Requests in flight per connection.",
            DefaultValueFactory = _ => DefaultRequests,
        };
        requests.Validators.Add(result => Range(result, requests, 1, 4096));
        var requestSize = new Option<long?>("--request-size")
        {
            Description = "Largest WRITE in bytes, a multiple of 4K (suffixes K, M allowed). Default: min(export maximum payload, 2M).",
            HelpName = "BYTES",
            CustomParser = ParseSize,
        };
        var flush = new Option<bool>("--flush") { Description = "Send one FLUSH after every write completed." };
        var progress = new Option<bool>("--progress", "-p") { Description = "Print progress to standard error." };

        var command = new Command("copy", "Copy the allocated data of a raw disk image into an NBD export.")
        {
            file,
            uri,
            connections,
            requests,
            requestSize,
            flush,
            progress,
        };
        command.SetAction((parseResult, cancellationToken) => CommandExecution.RunAsync(parseResult, verbose, (context, ct) => CopyAsync(context,
            parseResult.GetValue(file)!, parseResult.GetValue(uri)!, parseResult.GetValue(connections), parseResult.GetValue(requests),
            parseResult.GetValue(requestSize), parseResult.GetValue(flush), parseResult.GetValue(progress), ct), cancellationToken));
        return command;
    }

    private static async Task<int> CopyAsync(CommandContext context, string path, string uri, int connections, int requests,
        long? requestSize, bool flush, bool progress, CancellationToken cancellationToken)
    {
        if (!File.Exists(path))
        {
            throw new CommandFailedException($"The source file {path} does not exist.");
        }

        var options = NbdUri.Parse(uri) with
        {
            Connections = connections,
            MaxRequestsInFlight = requests,
            LoggerFactory = context.LoggerFactory,
        };
        var target = await NbdClient.ConnectAsync(options, cancellationToken);
        await using (target)
        {
            var copier = new RawFileCopier(target, new RawFileCopyOptions
            {
                RequestSize = requestSize,
                MaxRequestsInFlight = target.ConnectionCount * requests,
                Flush = flush,
            }, context.LoggerFactory.CreateLogger<RawFileCopier>());

            CopyResult result;
            var reporter = progress ? new CopyProgressReporter(context.Error, copier.Statistics, TimeSpan.FromSeconds(1)) : null;
            try
            {
                result = await copier.CopyAsync(path, cancellationToken);
            }
            finally
            {
                if (reporter is not null)
                {
                    await reporter.DisposeAsync();
                }
            }

            await context.Error.WriteLineAsync(string.Create(CultureInfo.InvariantCulture,
                $"{MigrateCommandLine.ToolName}: copied {result.DataBytes} bytes of data ({ByteSize.Format(result.DataBytes)}), zeroed {result.ZeroBytesWritten} bytes, skipped {result.ZeroBytesSkipped} zero bytes in {result.Elapsed.TotalSeconds:0.000} s ({result.DataMebibytesPerSecond:0.0} MiB/s)"));
        }

        return CommandExecution.Success;
    }

    /// <summary>Request sizes are whole 4 KiB blocks, so that zero detection sees the file's own blocks; nbdcopy also refuses less.</summary>
    private static long? ParseSize(ArgumentResult result)
    {
        const int block = 4096;
        var text = result.Tokens.Count > 0 ? result.Tokens[0].Value : string.Empty;
        if (!ByteSize.TryParse(text, out var bytes) || bytes > int.MaxValue)
        {
            result.AddError($"'{text}' is not a request size in bytes (e.g. 262144, 256K, 2M).");
            return null;
        }

        if (bytes < block || bytes % block != 0)
        {
            result.AddError($"--request-size {text} must be a multiple of 4096 bytes (4K).");
            return null;
        }

        return bytes;
    }

    private static void Range(OptionResult result, Option<int> option, int minimum, int maximum)
    {
        var value = result.GetValueOrDefault<int>();
        if (value < minimum || value > maximum)
        {
            result.AddError(string.Create(CultureInfo.InvariantCulture, $"{option.Name} must be from {minimum} to {maximum}, not {value}."));
        }
    }
}
