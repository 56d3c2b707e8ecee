using System.CommandLine;
using System.Globalization;
using System.Text.Json;
using Microsoft.Extensions.Logging;
using Whitesky.Api;
using Whitesky.Api.Models;
using Whitesky.Emulator;
using Whitesky.Emulator.Storage;
using Whitesky.Migrate.OvfImport;
using Whitesky.Migration.Paths.Ovf;
using Whitesky.Migration.S3;

namespace Whitesky.Migrate.Cli;

/// <summary>
/// <c>import ovf PACKAGE|IMAGE [--s3-endpoint URL --bucket B] ...</c>: path A. The package (an OVA, an OVF, or any disk
/// image turned into an OVA) is validated, uploaded to S3 and imported with <c>import-vm-s3</c>. whitesky comes from
/// <c>WHITESKY_URL</c>/<c>WHITESKY_TOKEN</c>/<c>WHITESKY_CUSTOMER_ID</c>/<c>WHITESKY_CLOUDSPACE_ID</c>/<c>WHITESKY_LOCATION</c>,
/// else the embedded emulator runs for the command; S3 from <c>--s3-endpoint</c> with <c>WHITESKY_S3_KEY</c>/<c>WHITESKY_S3_SECRET</c>,
/// else an s3rver from <c>.peers</c> runs for the command.
/// </summary>
internal static class ImportOvfCommand
{
    /// <summary>The package failed validation: nothing was uploaded.</summary>
    public const int InvalidPackage = 3;

    /// <summary>The upload or the platform's import failed (the VM reached ERROR).</summary>
    public const int ImportFailed = 4;

    /// <summary>The import did not finish within <c>--timeout</c>.</summary>
    public const int TimedOut = 5;

    public static Command Create(Option<bool> verbose)
    {
        var source = new Argument<string>("PACKAGE") { Description = "An .ova, an .ovf (its files beside it) or any disk image (qcow2, vmdk, vhd(x), vdi, raw): an OVA is built from it." };
        var endpoint = new Option<Uri?>("--s3-endpoint") { Description = "S3 endpoint URL (path-style). Keys from WHITESKY_S3_KEY / WHITESKY_S3_SECRET. Default: an s3rver started for the command (from .peers).", HelpName = "URL" };
        var bucket = new Option<string>("--bucket") { Description = "Bucket. Default imports.", HelpName = "B", DefaultValueFactory = _ => "imports" };
        var region = new Option<string>("--region") { Description = "S3 region. Default us-east-1.", DefaultValueFactory = _ => "us-east-1" };
        var objectName = new Option<string?>("--object") { Description = "Object name. Default the package's file name.", HelpName = "NAME" };
        var deleteAfter = new Option<bool>("--delete-after") { Description = "Delete the object once the VM is imported." };
        var timeout = new Option<int>("--timeout") { Description = "Seconds to wait for the import. Default 7200.", HelpName = "SECONDS", DefaultValueFactory = _ => 7200 };
        var json = new Option<bool>("--json") { Description = "Print the result as JSON on standard output." };
        var name = new Option<string?>("--name") { Description = "VM name (default the OVF's)." };
        var vcpus = new Option<int?>("--vcpus") { Description = "Virtual CPUs (default the OVF's)." };
        var memory = new Option<long?>("--memory") { Description = "Memory in MiB (default the OVF's).", HelpName = "MIB" };
        var bootType = new Option<string?>("--boot-type") { Description = "bios, uefi or uefi-secure-boot (default from the OVF's firmware)." };
        var osType = new Option<string?>("--os-type") { Description = "Linux, Windows, Unix, BSD, Darwin or Other (default from the OVF)." };
        var osName = new Option<string?>("--os-name") { Description = "An os_name of the API, e.g. \"Ubuntu 20.04\" (default from the OVF)." };
        var keepVm = new Option<bool>("--keep-vm") { Description = "Keep the VM when the import fails, times out or is cancelled (default: delete it and its disks)." };
        var checkpoint = new Option<string?>("--checkpoint") { Description = "File that keeps an interrupted upload's part list; when it exists the upload resumes from it.", HelpName = "FILE" };
        var partSize = new Option<int>("--part-size") { Description = "Multipart part size in MiB (5 to 5120). Default 64.", HelpName = "MIB", DefaultValueFactory = _ => 64 };
        var command = new Command("ovf", "Import an OVA/OVF (or any disk image) through S3 with import-vm-s3: validate, upload (resumable), import, wait.")
        {
            source, endpoint, bucket, region, objectName, deleteAfter, timeout, json, name, vcpus, memory, bootType, osType, osName, keepVm, checkpoint, partSize,
        };
        command.SetAction((parseResult, cancellationToken) => CommandExecution.RunAsync(parseResult, verbose, (context, ct) => RunAsync(context, new Settings(
            parseResult.GetValue(source)!, parseResult.GetValue(endpoint), parseResult.GetValue(bucket)!, parseResult.GetValue(region)!,
            parseResult.GetValue(objectName), parseResult.GetValue(deleteAfter), parseResult.GetValue(timeout), parseResult.GetValue(json),
            parseResult.GetValue(name), parseResult.GetValue(vcpus), parseResult.GetValue(memory), parseResult.GetValue(bootType),
            parseResult.GetValue(osType), parseResult.GetValue(osName), parseResult.GetValue(keepVm), parseResult.GetValue(checkpoint),
            parseResult.GetValue(partSize)), ct), cancellationToken));
        return command;
    }

    private sealed record Settings(string Source, Uri? Endpoint, string Bucket, string Region, string? ObjectName, bool DeleteAfter, int TimeoutSeconds, bool Json,
        string? Name, int? Vcpus, long? MemoryMiB, string? BootType, string? OsType, string? OsName, bool KeepVm, string? CheckpointFile, int PartSizeMiB);

    private static async Task<int> RunAsync(CommandContext context, Settings settings, CancellationToken cancellationToken)
    {
        if (settings.TimeoutSeconds < 1)
        {
            throw new CommandFailedException("--timeout must be at least 1 second.");
        }

        if (settings.PartSizeMiB is < 5 or > 5120)
        {
            throw new CommandFailedException("--part-size must be between 5 and 5120 MiB.");
        }

        // S3: the given endpoint, or s3rver for the duration of the command.
        S3rverServer? s3rver = null;
        WhiteskyEmulator? emulator = null;
        try
        {
            S3StorageOptions storage;
            if (settings.Endpoint is { } endpoint)
            {
                var key = Environment.GetEnvironmentVariable("WHITESKY_S3_KEY");
                var secret = Environment.GetEnvironmentVariable("WHITESKY_S3_SECRET");
                if (string.IsNullOrEmpty(key) || string.IsNullOrEmpty(secret))
                {
                    throw new CommandFailedException("--s3-endpoint needs the keys in WHITESKY_S3_KEY and WHITESKY_S3_SECRET.");
                }

                storage = new S3StorageOptions { Endpoint = endpoint, AccessKey = key, SecretKey = secret, Region = settings.Region };
            }
            else
            {
                try
                {
                    s3rver = await S3rverServer.StartAsync(new S3rverOptions { Buckets = [settings.Bucket] }, cancellationToken);
                }
                catch (FileNotFoundException e)
                {
                    throw new CommandFailedException("No --s3-endpoint given and the local S3 (s3rver) cannot run: " + e.Message, e);
                }

                storage = new S3StorageOptions { Endpoint = s3rver.Endpoint, AccessKey = s3rver.AccessKey, SecretKey = s3rver.SecretKey, Region = settings.Region };
                await context.Error.WriteLineAsync($"s3: {s3rver} (started for this command)");
            }

            // whitesky: the configured one, or the embedded emulator.
            WhiteskyClientOptions api;
            if (Environment.GetEnvironmentVariable("WHITESKY_URL") is { Length: > 0 } url)
            {
                api = new WhiteskyClientOptions
                {
                    BaseUrl = new Uri(url),
                    Jwt = Environment.GetEnvironmentVariable("WHITESKY_TOKEN") ?? throw new CommandFailedException("WHITESKY_URL is set but WHITESKY_TOKEN is not."),
                    CustomerId = Environment.GetEnvironmentVariable("WHITESKY_CUSTOMER_ID"),
                    CloudspaceId = Environment.GetEnvironmentVariable("WHITESKY_CLOUDSPACE_ID"),
                    Location = Environment.GetEnvironmentVariable("WHITESKY_LOCATION"),
                };
            }
            else
            {
                emulator = await WhiteskyEmulator.StartAsync(new WhiteskyEmulatorOptions { LoggerFactory = context.LoggerFactory }, cancellationToken);
                api = new WhiteskyClientOptions
                {
                    BaseUrl = emulator.BaseUrl, Jwt = emulator.Jwt, IamUrl = emulator.IamUrl,
                    CustomerId = emulator.CustomerId, CloudspaceId = emulator.CloudspaceId, Location = emulator.Location,
                };
                await context.Error.WriteLineAsync($"whitesky: the embedded emulator at {emulator.BaseUrl} (WHITESKY_URL not set)");
            }

            using var client = WhiteskyClient.Create(api, context.LoggerFactory);
            var import = new OvfS3Import(client, context.LoggerFactory.CreateLogger<OvfS3Import>());
            var saved = settings.CheckpointFile is { } file && File.Exists(file) ? await UploadCheckpointFile.ReadAsync(file, cancellationToken) : null;
            var options = new OvfS3ImportOptions
            {
                Source = saved?.Package ?? settings.Source,
                Storage = storage,
                Bucket = settings.Bucket,
                ObjectName = settings.ObjectName,
                Name = settings.Name,
                Vcpus = settings.Vcpus,
                MemoryMiB = settings.MemoryMiB,
                BootType = settings.BootType is { } b ? new BootType(b) : null,
                OsType = settings.OsType is { } t ? new OsType(t) : null,
                OsName = settings.OsName is { } n ? new OsName(n) : null,
                ImportTimeout = TimeSpan.FromSeconds(settings.TimeoutSeconds),
                PollInterval = emulator is null ? TimeSpan.FromSeconds(5) : TimeSpan.FromMilliseconds(200),
                DeleteObjectAfterImport = settings.DeleteAfter,
                KeepVmOnFailure = settings.KeepVm,
                Upload = new S3UploadOptions { PartSize = (long)settings.PartSizeMiB << 20, Resume = saved?.Checkpoint },
            };
            if (saved is not null)
            {
                await context.Error.WriteLineAsync($"resuming upload {saved.Checkpoint.UploadId} of {saved.Package} ({saved.Checkpoint.Parts.Count} part(s) stored)");
            }

            OvfS3ImportResult result;
            var reporter = new OvfImportProgressReporter(context.Error, !Console.IsErrorRedirected && context.Error == Console.Error);
            await using (reporter)
            {
                try
                {
                    result = await import.ImportAsync(options, reporter, cancellationToken);
                }
                catch (OvfS3ImportCanceledException e)
                {
                    await SaveCheckpointAsync(context, settings, e.PackagePath, e.Checkpoint, cancellationToken);
                    await context.Error.WriteLineAsync($"{MigrateCommandLine.ToolName}: {e.Message}");
                    return CommandExecution.Cancelled;
                }
                catch (OvfS3ImportException e)
                {
                    await SaveCheckpointAsync(context, settings, e.PackagePath, e.Checkpoint, cancellationToken);
                    await context.Error.WriteLineAsync($"{MigrateCommandLine.ToolName}: {e.Message}");
                    foreach (var finding in e.Report?.Findings ?? [])
                    {
                        await context.Error.WriteLineAsync("  " + finding);
                    }

                    return e.Stage == OvfS3ImportStage.Validating || e.InnerException is Whitesky.Migration.Ovf.OvfException ? InvalidPackage : e.InnerException is TimeoutException ? TimedOut : ImportFailed;
                }
            }

            if (settings.CheckpointFile is { } done && File.Exists(done))
            {
                File.Delete(done);
            }

            await WriteResultAsync(context, settings, result);
            return CommandExecution.Success;
        }
        finally
        {
            if (emulator is not null)
            {
                await emulator.DisposeAsync();
            }

            if (s3rver is not null)
            {
                await s3rver.DisposeAsync();
            }
        }
    }

    private static async Task SaveCheckpointAsync(CommandContext context, Settings settings, string? package, S3UploadCheckpoint? checkpoint, CancellationToken cancellationToken)
    {
        if (checkpoint is null || package is null)
        {
            return;
        }

        if (settings.CheckpointFile is { } file)
        {
            await UploadCheckpointFile.WriteAsync(file, package, checkpoint, CancellationToken.None);
            await context.Error.WriteLineAsync($"the upload's part list is in {file}: run the same command again to send only the missing parts");
        }
        else
        {
            await context.Error.WriteLineAsync($"{checkpoint.Parts.Count} part(s) are stored under upload {checkpoint.UploadId}; pass --checkpoint FILE to be able to resume");
        }

        _ = cancellationToken;
    }

    private static async Task WriteResultAsync(CommandContext context, Settings settings, OvfS3ImportResult result)
    {
        var h = result.Hardware;
        if (!settings.Json)
        {
            await context.Output.WriteLineAsync(string.Create(CultureInfo.InvariantCulture,
                $"imported VM {result.VmId} '{h.Name}' ({result.VmStatus}): {h.Vcpus} vCPU, {h.MemoryMiB} MiB, {h.BootType}, {h.OsType} / {h.OsName}"));
            await context.Output.WriteLineAsync(string.Create(CultureInfo.InvariantCulture,
                $"package {result.PackagePath}{(result.PackageBuilt ? " (built)" : string.Empty)}: {result.Report.Warnings.Count()} warning(s); s3://{result.Upload.Bucket}/{result.Upload.Key}: {result.Upload.PartsUploaded} part(s) sent, {result.Upload.PartsReused} reused{(result.ObjectDeleted ? ", deleted after the import" : string.Empty)}; {result.Duration.TotalSeconds:0.0} s"));
            return;
        }

        using var stream = new MemoryStream();
        await using (var writer = new Utf8JsonWriter(stream, new JsonWriterOptions { Indented = true }))
        {
            writer.WriteStartObject();
            writer.WriteNumber("vmId", result.VmId);
            writer.WriteString("vmStatus", result.VmStatus);
            writer.WriteString("name", h.Name);
            writer.WriteNumber("vcpus", h.Vcpus);
            writer.WriteNumber("memoryMiB", h.MemoryMiB);
            writer.WriteString("bootType", h.BootType);
            writer.WriteString("osType", h.OsType);
            writer.WriteString("osName", h.OsName);
            writer.WriteString("package", result.PackagePath);
            writer.WriteBoolean("packageBuilt", result.PackageBuilt);
            writer.WriteString("bucket", result.Upload.Bucket);
            writer.WriteString("object", result.Upload.Key);
            writer.WriteNumber("bytes", result.Upload.Length);
            writer.WriteNumber("partsUploaded", result.Upload.PartsUploaded);
            writer.WriteNumber("partsReused", result.Upload.PartsReused);
            writer.WriteBoolean("objectDeleted", result.ObjectDeleted);
            writer.WriteNumber("seconds", Math.Round(result.Duration.TotalSeconds, 3));
            writer.WriteStartArray("findings");
            foreach (var finding in result.Report.Findings)
            {
                writer.WriteStringValue(finding.ToString());
            }

            writer.WriteEndArray();
            writer.WriteEndObject();
        }

        await context.Output.WriteLineAsync(System.Text.Encoding.UTF8.GetString(stream.ToArray()));
    }
}
