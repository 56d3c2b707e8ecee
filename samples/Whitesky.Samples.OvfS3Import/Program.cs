// Path A, "OVF via S3": stage an OVA in S3 and let whitesky import it (import-vm-s3).
//
// No configuration: runs against the embedded emulator and an s3rver from .peers (eng/install-peers.sh installs it),
// importing a small OVA it generates. Against a real whitesky and S3, set
//   WHITESKY_URL, WHITESKY_TOKEN, WHITESKY_CUSTOMER_ID, WHITESKY_CLOUDSPACE_ID, WHITESKY_LOCATION
//   WHITESKY_S3_ENDPOINT, WHITESKY_S3_KEY, WHITESKY_S3_SECRET, WHITESKY_S3_BUCKET [, WHITESKY_S3_REGION]
// and pass your own package or disk image: dotnet run -- web01.ova   (or .ovf, .qcow2, .vmdk, .vhdx, .raw ...)
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Whitesky.Emulator;
using Whitesky.Emulator.Storage;
using Whitesky.Migration.Ovf;
using Whitesky.Migration.Paths.Ovf;
using Whitesky.Migration.S3;

using var cancel = new CancellationTokenSource();
Console.CancelKeyPress += (_, e) => { e.Cancel = true; cancel.Cancel(); };   // Ctrl-C: the import stops and cleans up

string? Env(string name) => Environment.GetEnvironmentVariable(name) is { Length: > 0 } value ? value : null;
var work = Directory.CreateTempSubdirectory("ovf-s3-sample-").FullName;
await using var local = await LocalPeers.StartUnlessConfiguredAsync(Env);

// 1. The whitesky API client and the migration paths, through DI.
var services = new ServiceCollection()
    .AddLogging(logging => logging.AddSimpleConsole(o => o.SingleLine = true).SetMinimumLevel(LogLevel.Information)
        .AddFilter("System.Net.Http", LogLevel.Warning).AddFilter("Polly", LogLevel.Warning))
    .AddWhiteskyApi(api =>
    {
        api.BaseUrl = new Uri(Env("WHITESKY_URL") ?? local.Emulator!.BaseUrl.ToString());
        api.Jwt = Env("WHITESKY_TOKEN") ?? local.Emulator!.Jwt;
        api.CustomerId = Env("WHITESKY_CUSTOMER_ID") ?? local.Emulator?.CustomerId;
        api.CloudspaceId = Env("WHITESKY_CLOUDSPACE_ID") ?? local.Emulator?.CloudspaceId;
        api.Location = Env("WHITESKY_LOCATION") ?? local.Emulator?.Location;
    })
    .AddWhiteskyMigration();
await using var provider = services.BuildServiceProvider();
var import = provider.GetRequiredService<OvfS3Import>();

// 2. What to import: the package on the command line, or a small generated OVA (one disk, 2 vCPU, 1 GiB, BIOS).
var source = args.Length > 0 ? args[0] : await SampleOva.CreateAsync(work);

// 3. Where to stage it: your S3, or the local s3rver.
var storage = new S3StorageOptions
{
    Endpoint = new Uri(Env("WHITESKY_S3_ENDPOINT") ?? local.S3!.Endpoint.ToString()),
    AccessKey = Env("WHITESKY_S3_KEY") ?? local.S3!.AccessKey,
    SecretKey = Env("WHITESKY_S3_SECRET") ?? local.S3!.SecretKey,
    Region = Env("WHITESKY_S3_REGION") ?? "us-east-1",
};

// 4. Import: validate → upload (multipart, resumable) → import-vm-s3 with the OVF's hardware → wait.
var progress = new ConsoleProgress(p => Console.WriteLine(
    p.BytesTotal > 0 ? $"{p.Stage}: {100.0 * p.BytesDone / p.BytesTotal:0}%" : $"{p.Stage}{(p.VmStatus is null ? "" : $": VM {p.VmId} {p.VmStatus}")}"));
try
{
    var result = await import.ImportAsync(new OvfS3ImportOptions
    {
        Source = source,
        Storage = storage,
        Bucket = Env("WHITESKY_S3_BUCKET") ?? LocalPeers.Bucket,
        DeleteObjectAfterImport = true,                      // the staged OVA is not needed once the VM exists
        ImportTimeout = TimeSpan.FromMinutes(30),
        PollInterval = local.Emulator is null ? TimeSpan.FromSeconds(5) : TimeSpan.FromMilliseconds(200),
        WorkDirectory = work,                                 // where an OVA built from a disk image goes
    }, progress, cancel.Token);

    var h = result.Hardware;
    Console.WriteLine($"Imported VM {result.VmId} '{h.Name}' ({result.VmStatus}): {h.Vcpus} vCPU, {h.MemoryMiB} MiB, {h.BootType}, {h.OsName}; " +
                      $"{result.Upload.PartsUploaded} part(s) uploaded in {result.Duration.TotalSeconds:0.0} s.");
    return 0;
}
catch (OvfS3ImportException e)
{
    // Says which step failed and what was cleaned up; e.Report lists validation findings, e.Checkpoint resumes an upload.
    Console.Error.WriteLine(e.Message);
    return 1;
}
catch (OvfS3ImportCanceledException e)
{
    Console.Error.WriteLine(e.Message);
    return 130;
}
finally
{
    Directory.Delete(work, recursive: true);
}

/// <summary>The embedded emulator and s3rver, started only for what is not configured.</summary>
internal sealed class LocalPeers : IAsyncDisposable
{
    public const string Bucket = "imports";

    public WhiteskyEmulator? Emulator { get; private init; }

    public S3rverServer? S3 { get; private init; }

    public static async Task<LocalPeers> StartUnlessConfiguredAsync(Func<string, string?> env) => new()
    {
        Emulator = env("WHITESKY_URL") is null ? await WhiteskyEmulator.StartAsync() : null,
        S3 = env("WHITESKY_S3_ENDPOINT") is null ? await S3rverServer.StartAsync(new S3rverOptions { Buckets = [Bucket] }) : null,
    };

    public async ValueTask DisposeAsync()
    {
        if (Emulator is not null)
        {
            await Emulator.DisposeAsync();
        }

        if (S3 is not null)
        {
            await S3.DisposeAsync();
        }
    }
}

/// <summary>A small OVA: a 64 MiB raw disk with an MBR and some data, packed by the SDK's OVA builder.</summary>
internal static class SampleOva
{
    public static async Task<string> CreateAsync(string folder)
    {
        var raw = Path.Combine(folder, "sample-disk.raw");
        await using (var disk = new FileStream(raw, FileMode.Create))
        {
            disk.SetLength(64 << 20);
            var mbr = new byte[512];
            mbr[510] = 0x55;                                 // boot signature: a BIOS disk
            mbr[511] = 0xAA;
            await disk.WriteAsync(mbr);
            disk.Position = 1 << 20;
            await disk.WriteAsync(System.Text.Encoding.ASCII.GetBytes(string.Concat(Enumerable.Repeat("whitesky sample data ", 50_000))));
        }

        var ova = Path.Combine(folder, "sample-vm.ova");
        await OvaBuilder.BuildAsync([raw], ova, new OvaBuildOptions { Name = "sample-vm", Cpus = 2, MemoryMiB = 1024, OsType = "Linux", OsName = "Linux - other" });
        File.Delete(raw);
        return ova;
    }
}

/// <summary>Prints progress on the reporting thread, so lines come in order (Progress&lt;T&gt; posts them to the thread pool).</summary>
internal sealed class ConsoleProgress(Action<OvfS3ImportProgress> print) : IProgress<OvfS3ImportProgress>
{
    public void Report(OvfS3ImportProgress value) => print(value);
}
