// Path B, streaming import, as an application would write it.
//
//   dotnet run --project samples/Whitesky.Samples.StreamingImport [IMAGE...]
//
// With WHITESKY_URL, WHITESKY_TOKEN, WHITESKY_CUSTOMER, WHITESKY_CLOUDSPACE and WHITESKY_LOCATION set it imports
// into that whitesky; otherwise into an embedded emulator started here. Without IMAGE it makes a small sample disk:
// a GPT with an EFI system partition (written by sfdisk) and some data, so the VM comes out as UEFI.
using System.Diagnostics;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Whitesky.Api;
using Whitesky.Emulator;
using Whitesky.Migration.Paths.Streaming;

using var cancel = new CancellationTokenSource();
Console.CancelKeyPress += (_, e) => { e.Cancel = true; cancel.Cancel(); };   // Ctrl-C: stop cleanly (unexpose, delete)

// 1. Where to import: a configured whitesky, or the embedded emulator.
await using var emulator = Environment.GetEnvironmentVariable("WHITESKY_URL") is null ? await WhiteskyEmulator.StartAsync() : null;
var services = new ServiceCollection()
    .AddLogging(logging => logging.AddSimpleConsole(o => o.SingleLine = true).SetMinimumLevel(LogLevel.Information)
        .AddFilter("System.Net.Http", LogLevel.Warning).AddFilter("Polly", LogLevel.Warning))
    .AddWhiteskyApi(o =>
    {
        o.BaseUrl = emulator?.BaseUrl ?? new Uri(Environment.GetEnvironmentVariable("WHITESKY_URL")!);
        o.Jwt = emulator?.Jwt ?? Environment.GetEnvironmentVariable("WHITESKY_TOKEN");
        o.CustomerId = emulator?.CustomerId ?? Environment.GetEnvironmentVariable("WHITESKY_CUSTOMER");
        o.CloudspaceId = emulator?.CloudspaceId ?? Environment.GetEnvironmentVariable("WHITESKY_CLOUDSPACE");
        o.Location = emulator?.Location ?? Environment.GetEnvironmentVariable("WHITESKY_LOCATION");
    })
    .AddWhiteskyMigration();                                                   // registers StreamingDiskImport
await using var provider = services.BuildServiceProvider();
Console.WriteLine(emulator is null ? $"Importing into {Environment.GetEnvironmentVariable("WHITESKY_URL")}" : $"Importing into an embedded emulator at {emulator.BaseUrl}");

// 2. What to import.
var images = args.Length > 0 ? args : [await MakeSampleDiskAsync()];

// 3. Import: one disk per image, all into one new VM (first image = boot disk, boot mode from its partition table).
var import = provider.GetRequiredService<StreamingDiskImport>();
var progress = new Progress<StreamingImportProgress>(p =>
{
    if (p.Transfer is null)
    {
        Console.WriteLine($"  {Path.GetFileName(p.ImagePath)}: {p.Phase}");
    }
});
try
{
    var result = await import.ImportAsync(new StreamingImportOptions
    {
        Disks = [.. images.Select(path => new StreamingImportSource { ImagePath = path })],
        NewVm = new StreamingImportVm { Name = "sample-" + Path.GetFileNameWithoutExtension(images[0]), VCpus = 2, MemoryMiB = 2048 },
    }, progress, cancel.Token);

    foreach (var disk in result.Disks)
    {
        Console.WriteLine($"disk {disk.DiskId} ({disk.DiskSizeGb} GB) <- {disk.ImagePath} ({disk.Format}, {disk.Layout.Scheme}, {disk.Layout.BootMode}): "
            + $"{disk.Transfer.BytesWritten} bytes sent, {disk.Transfer.BytesSkipped} bytes of holes skipped, GPT backup moved: {disk.GptRelocation?.Moved ?? false}");
    }

    Console.WriteLine($"VM {result.VmId} ({result.BootType}) created in {result.Duration.TotalSeconds:0.0} s");
    return 0;
}
catch (StreamingImportException ex)                                             // says which step failed and what was cleaned up
{
    Console.Error.WriteLine(ex.Message);
    return 1;
}
catch (StreamingImportCanceledException ex)
{
    Console.Error.WriteLine(ex.Message);
    return 130;
}

// A 64 MiB raw disk: GPT with a 16 MiB EFI system partition and a Linux partition, 8 MiB of data, the rest holes.
static async Task<string> MakeSampleDiskAsync()
{
    var path = Path.Combine(Path.GetTempPath(), "whitesky-sample-disk.raw");
    await using (var file = File.Create(path))
    {
        file.SetLength(64L << 20);
        file.Position = 20L << 20;
        await file.WriteAsync(System.Text.Encoding.ASCII.GetBytes(string.Concat(Enumerable.Repeat("whitesky sample data ", 400_000))));
    }

    using var sfdisk = Process.Start(new ProcessStartInfo("sfdisk", ["--quiet", path]) { RedirectStandardInput = true })!;
    await sfdisk.StandardInput.WriteAsync("label: gpt\nsize=16MiB, type=U\ntype=L\n");
    sfdisk.StandardInput.Close();
    await sfdisk.WaitForExitAsync();
    return sfdisk.ExitCode == 0 ? path : throw new InvalidOperationException("sfdisk (util-linux) is needed to make the sample disk.");
}
