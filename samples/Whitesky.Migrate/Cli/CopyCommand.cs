using System.CommandLine;
using System.CommandLine.Parsing;
using System.Globalization;
using Whitesky.Migrate.Copy;

namespace Whitesky.Migrate.Cli;

/// <summary>
/// <c>copy SOURCE TARGET</c>: any disk image (or standard input, or an NBD export) into an NBD export or a raw
/// file through the transfer engine. <c>nbd copy FILE URI</c> is the same command for raw files, kept for scripts.
/// </summary>
internal static class CopyCommand
{
    /// <summary>
    /// Like nbdcopy: up to 4, but no more than the cores. More connections than cores only add server
    /// threads competing for them (measured on 2 cores: 2 connections beat 4 on plain, TLS and slow targets).
    /// </summary>
    private static readonly int DefaultConnections = Math.Clamp(Environment.ProcessorCount, 1, 4);
    private const int DefaultRequests = 64;

    public static Command Create(Option<bool> verbose)
    {
        var source = new Argument<string>("SOURCE")
        {
            Description = "A disk image of any supported format, a tar or OVA file, gzip-, zstd- or xz-compressed, a Proxmox VMA archive, "
                + "an NBD URI, or '-' for standard input (any of these streams, detected; else raw data sized by the target).",
        };
        var target = new Argument<string>("TARGET") { Description = "An NBD URI (nbd://, nbds://user@host/disk?tls-psk-file=FILE, nbd+unix://) or a raw file." };
        var common = new CommonOptions();
        var targetIsZero = new Option<bool>("--target-is-zero") { Description = "The target already reads as zero: holes are not written (default: ask the target)." };
        var verify = new Option<bool>("--verify") { Description = "Hash the source's blocks and compare them with a read-back of the target." };
        var checkpoint = new Option<string?>("--checkpoint") { Description = "A file recording completed ranges: a restarted copy sends only what is missing.", HelpName = "FILE" };
        var bandwidth = new Option<long?>("--bandwidth") { Description = "Data bytes per second at most (suffixes K, M, G).", HelpName = "BYTES", CustomParser = ParseBandwidth };
        var json = new Option<bool>("--json") { Description = "Print the summary as JSON on standard output." };
        var disk = new Option<string?>("--disk", "--device")
        {
            Description = "Which disk of a tar or OVA file (its entry name; default the first), or which device of a Proxmox VMA archive (name such as drive-scsi0, or dev_id; needed when it has several).",
        };
        var command = new Command("copy", "Copy a disk image (any format) into an NBD export or a raw file: sparse, pipelined, resumable, verified.")
        {
            source, target, disk, targetIsZero, verify, checkpoint, bandwidth, json,
        };
        common.AddTo(command);
        command.SetAction((parseResult, cancellationToken) => CommandExecution.RunAsync(parseResult, verbose, (context, ct) => DiskCopier.RunAsync(context,
            common.Read(parseResult, parseResult.GetValue(source)!, parseResult.GetValue(target)!) with
            {
                Disk = parseResult.GetValue(disk),
                TargetIsZero = parseResult.GetValue(targetIsZero) ? true : null,
                Verify = parseResult.GetValue(verify),
                Checkpoint = parseResult.GetValue(checkpoint),
                Bandwidth = parseResult.GetValue(bandwidth),
                Json = parseResult.GetValue(json),
            }, ct), cancellationToken));
        return command;
    }

    /// <summary><c>nbd copy FILE URI</c>: a raw file into an export, no FLUSH unless asked (as nbdcopy).</summary>
    public static Command CreateNbdCopy(Option<bool> verbose)
    {
        var file = new Argument<string>("FILE") { Description = "The raw disk image to copy (a sparse file copies only its data)." };
        var uri = new Argument<string>("URI") { Description = "The target export, e.g. nbd://host/disk or nbds://user@host/disk?tls-psk-file=FILE." };
        var common = new CommonOptions();
        var flush = new Option<bool>("--flush") { Description = "Send one FLUSH after every write completed." };
        var command = new Command("copy", "Copy the allocated data of a raw disk image into an NBD export (see also: whitesky-migrate copy).") { file, uri, flush };
        common.AddTo(command);
        command.SetAction((parseResult, cancellationToken) => CommandExecution.RunAsync(parseResult, verbose, (context, ct) => DiskCopier.RunAsync(context,
            common.Read(parseResult, parseResult.GetValue(file)!, parseResult.GetValue(uri)!) with
            {
                SourceFormat = "raw",
                Flush = parseResult.GetValue(flush),
            }, ct), cancellationToken));
        return command;
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

    private static long? ParseBandwidth(ArgumentResult result)
    {
        var text = result.Tokens.Count > 0 ? result.Tokens[0].Value : string.Empty;
        if (!ByteSize.TryParse(text, out var bytes) || bytes < 1)
        {
            result.AddError($"'{text}' is not a rate in bytes per second (e.g. 100M).");
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

    /// <summary>The options <c>copy</c> and <c>nbd copy</c> share.</summary>
    private sealed class CommonOptions
    {
        private readonly Option<int> _connections = new("--connections", "-C")
        {
            Description = "Connections to open when the export allows multi-conn (otherwise 1). Default: the number of cores, at most 4.",
            DefaultValueFactory = _ => DefaultConnections,
        };

        private readonly Option<int> _requests = new("--requests", "-R")
        {
            Description = "Requests in flight per connection.",
            DefaultValueFactory = _ => DefaultRequests,
        };

        private readonly Option<long?> _requestSize = new("--request-size")
        {
            Description = "Largest WRITE in bytes, a multiple of 4K (suffixes K, M allowed). Default: min(export maximum payload, 2M).",
            HelpName = "BYTES",
            CustomParser = ParseSize,
        };

        private readonly Option<bool> _progress = new("--progress", "-p") { Description = "Print progress to standard error (a bar by default on a terminal)." };

        public void AddTo(Command command)
        {
            _connections.Validators.Add(result => Range(result, _connections, 1, 64));
            _requests.Validators.Add(result => Range(result, _requests, 1, 4096));
            command.Options.Add(_connections);
            command.Options.Add(_requests);
            command.Options.Add(_requestSize);
            command.Options.Add(_progress);
        }

        public CopySettings Read(ParseResult parseResult, string source, string target) => new()
        {
            Source = source,
            Target = target,
            Connections = parseResult.GetValue(_connections),
            Requests = parseResult.GetValue(_requests),
            RequestSize = parseResult.GetValue(_requestSize),
            Progress = parseResult.GetValue(_progress) ? true : null,
        };
    }
}
