using Whitesky.DiskFormats;
using Whitesky.Migration.Ovf;

// Usage: OvaBuild vmdk IMAGE OUT.vmdk | OvaBuild ova IMAGE OUT.ova
if (args.Length != 3 || args[0] is not ("vmdk" or "ova"))
{
    await Console.Error.WriteLineAsync("usage: OvaBuild vmdk|ova IMAGE OUTPUT").ConfigureAwait(false);
    return 2;
}

if (args[0] == "ova")
{
    var built = await OvaBuilder.BuildAsync([args[1]], args[2], new OvaBuildOptions { Name = Path.GetFileNameWithoutExtension(args[2]) }).ConfigureAwait(false);
    Console.WriteLine($"{built.Length} bytes, {built.Disks[0].GrainsWritten} grains");
    return 0;
}

var disk = await DiskImage.OpenAsync(args[1]).ConfigureAwait(false);
await using (disk.ConfigureAwait(false))
{
    var output = new FileStream(args[2], FileMode.Create, FileAccess.Write, FileShare.None, 1 << 20, FileOptions.Asynchronous);
    await using (output.ConfigureAwait(false))
    {
        var result = await StreamOptimizedVmdkWriter.WriteAsync(disk, output, Path.GetFileName(args[2])).ConfigureAwait(false);
        Console.WriteLine($"{result.Length} bytes, {result.GrainsWritten} grains");
    }
}

return 0;
