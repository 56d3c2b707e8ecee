// Path C, recovery boot, as an application would write it.
//
//   dotnet run --project samples/Whitesky.Samples.RecoveryBoot [RECOVERY.iso]
//
// With WHITESKY_URL, WHITESKY_TOKEN, WHITESKY_CUSTOMER, WHITESKY_CLOUDSPACE and WHITESKY_LOCATION set it works on
// that whitesky; otherwise on an embedded emulator started here. Without an ISO it writes a tiny (empty) ISO 9660
// image, so the upload has something to send: pass your backup vendor's recovery ISO for a real restore.
using System.Text;
using Whitesky.Api;
using Whitesky.Emulator;
using Whitesky.Migration.Paths.Recovery;

using var cancel = new CancellationTokenSource();
Console.CancelKeyPress += (_, e) => { e.Cancel = true; cancel.Cancel(); };

// 1. Where: a configured whitesky, or the embedded emulator.
await using var emulator = Environment.GetEnvironmentVariable("WHITESKY_URL") is null ? await WhiteskyEmulator.StartAsync() : null;
using var client = WhiteskyClient.Create(new WhiteskyClientOptions
{
    BaseUrl = emulator?.BaseUrl ?? new Uri(Environment.GetEnvironmentVariable("WHITESKY_URL")!),
    Jwt = emulator?.Jwt ?? Environment.GetEnvironmentVariable("WHITESKY_TOKEN"),
    CustomerId = emulator?.CustomerId ?? Environment.GetEnvironmentVariable("WHITESKY_CUSTOMER"),
    CloudspaceId = emulator?.CloudspaceId ?? Environment.GetEnvironmentVariable("WHITESKY_CLOUDSPACE"),
    Location = emulator?.Location ?? Environment.GetEnvironmentVariable("WHITESKY_LOCATION"),
});
var recovery = new RecoveryBootImport(client);

// 2. Upload the ISO (parts in parallel; the checkpoint file lets a rerun send only missing parts), create a VM with
//    an empty 20 GB boot disk and the ISO attached, and start it.
var iso = args.Length > 0 ? args[0] : WriteTinyIso();
try
{
    var started = await recovery.StartAsync(new RecoveryBootOptions
    {
        IsoPath = iso,                                 // or: CdromId = 42, or Acronis = true, or Veeam = true
        VmName = "restore-" + DateTime.UtcNow.ToString("HHmmss", System.Globalization.CultureInfo.InvariantCulture),
        DiskSizeGb = 20,
        UploadCheckpointPath = iso + ".upload.json",
    }, new Progress<RecoveryBootProgress>(p => Console.WriteLine($"  {p.Phase}: {p.UploadedBytes} of {p.TotalBytes} bytes")), cancel.Token);

    Console.WriteLine($"VM {started.VmId} is {started.VmStatus}, CD-ROM image {started.CdromId}, empty boot disk {started.BootDiskId}.");
    Console.WriteLine(started.Instructions);

    // 3. The vendor's restore runs in the VM's console. Once it is done, the finish step detaches the ISO and boots
    //    the VM from its disk. (Here it runs at once, to show the call.)
    var finished = await recovery.FinishAsync(started.VmId, cancellationToken: cancel.Token);
    Console.WriteLine($"Finished: VM {finished.VmId} boots from disk {finished.BootDiskId}, detached CD-ROM(s): {string.Join(", ", finished.DetachedCdromIds)}.");
    return 0;
}
catch (RecoveryBootException ex)                        // names the step, the VM/CD-ROM and what was cleaned up
{
    Console.Error.WriteLine(ex.Message);
    return 1;
}
catch (RecoveryBootCanceledException ex)
{
    Console.Error.WriteLine(ex.Message);
    return 130;
}

// An empty ISO 9660 image (ECMA-119): 16 system sectors, a primary volume descriptor, a terminator, a root directory.
static string WriteTinyIso()
{
    const int Sector = 2048;
    var image = new byte[20 * Sector];
    var pvd = image.AsSpan(16 * Sector, Sector);
    pvd[0] = 1;                                                         // primary volume descriptor
    Encoding.ASCII.GetBytes("CD001").CopyTo(pvd[1..]);
    pvd[6] = 1;
    Encoding.ASCII.GetBytes("WHITESKY_SAMPLE".PadRight(32)).CopyTo(pvd[40..]);
    BothEndian32(pvd[80..], 20);                                        // volume space size, in sectors
    BothEndian16(pvd[120..], 1);                                        // volume set size
    BothEndian16(pvd[124..], 1);                                        // volume sequence number
    BothEndian16(pvd[128..], Sector);                                   // logical block size
    RootRecord(pvd.Slice(156, 34), 18);                                 // root directory record
    pvd[881] = 1;                                                       // file structure version
    var terminator = image.AsSpan(17 * Sector, Sector);
    terminator[0] = 255;
    Encoding.ASCII.GetBytes("CD001").CopyTo(terminator[1..]);
    terminator[6] = 1;
    var root = image.AsSpan(18 * Sector, Sector);
    RootRecord(root[..34], 18);                                         // "."
    RootRecord(root.Slice(34, 34), 18);                                 // ".."
    root[34 + 33] = 1;
    var path = Path.Combine(Path.GetTempPath(), "whitesky-sample-recovery.iso");
    File.WriteAllBytes(path, image);
    return path;

    static void RootRecord(Span<byte> record, uint extent)
    {
        record[0] = 34;
        BothEndian32(record[2..], extent);
        BothEndian32(record[10..], Sector);
        record[25] = 2;                                                 // directory
        BothEndian16(record[28..], 1);
        record[32] = 1;
    }

    static void BothEndian32(Span<byte> at, uint value)
    {
        System.Buffers.Binary.BinaryPrimitives.WriteUInt32LittleEndian(at, value);
        System.Buffers.Binary.BinaryPrimitives.WriteUInt32BigEndian(at[4..], value);
    }

    static void BothEndian16(Span<byte> at, ushort value)
    {
        System.Buffers.Binary.BinaryPrimitives.WriteUInt16LittleEndian(at, value);
        System.Buffers.Binary.BinaryPrimitives.WriteUInt16BigEndian(at[2..], value);
    }
}
