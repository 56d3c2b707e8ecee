using System.Buffers.Binary;
using System.IO.Hashing;
using System.Text.Json;
using Whitesky.DiskFormats;
using Whitesky.Migration.Guest;
using Whitesky.Nbd;
using Whitesky.Nbd.Tests.Peers;

namespace Whitesky.Migration.Tests.Guest;

/// <summary>Partition tables made by sfdisk, checked by sgdisk; images through qemu-img; targets in nbdkit.</summary>
public class GuestDiskLayoutTests
{
    private const string EspType = "C12A7328-F81F-11D2-BA4B-00A0C93EC93B";
    private const string BiosBootType = "21686148-6449-6E6F-744E-656564454649";
    private const string LinuxType = "0FC63DAF-8483-4772-8E79-3D69D8477DE4";

    private static async Task<string> MakeDiskAsync(TempDirectory dir, string name, long size, string sfdiskScript)
    {
        var path = dir.File(name);
        await using (var f = File.Create(path))
        {
            f.SetLength(size);
        }

        var script = dir.File(name + ".sfdisk");
        await File.WriteAllTextAsync(script, sfdiskScript);
        await ExternalTool.RunAsync("bash", ["-c", $"sfdisk -q '{path}' < '{script}'"]);
        return path;
    }

    private static async Task<IReadOnlyList<(long Start, long Size, string Type)>> SfdiskPartitionsAsync(string path)
    {
        var json = JsonDocument.Parse(await ExternalTool.RunAsync("sfdisk", ["--json", path]));
        return [.. json.RootElement.GetProperty("partitiontable").GetProperty("partitions").EnumerateArray()
            .Select(p => (p.GetProperty("start").GetInt64(), p.GetProperty("size").GetInt64(), p.GetProperty("type").GetString()!))];
    }

    [Fact]
    public async Task A_gpt_with_an_efi_system_partition_boots_uefi_even_inside_a_qcow2()
    {
        using var dir = new TempDirectory();
        var raw = await MakeDiskAsync(dir, "uefi.raw", 64L << 20,
            $"label: gpt\nstart=2048, size=20480, type={EspType}, name=\"EFI System\"\nstart=22528, type={LinuxType}, name=root\n");
        var qcow2 = dir.File("uefi.qcow2");
        await ExternalTool.RunAsync("qemu-img", ["convert", "-O", "qcow2", raw, qcow2]);

        await using var disk = await DiskImage.OpenAsync(qcow2);
        var layout = await GuestDiskInspector.InspectAsync(disk);

        Assert.Equal(PartitionScheme.Gpt, layout.Scheme);
        Assert.Equal(GuestBootMode.Uefi, layout.BootMode);
        Assert.Empty(layout.Warnings);
        Assert.True(layout.GptBackupAtEnd);
        var expected = await SfdiskPartitionsAsync(raw);
        Assert.Equal(expected.Select(p => (p.Start * 512, p.Size * 512, p.Type.ToUpperInvariant())),
            layout.Partitions.Select(p => (p.Offset, p.Length, p.Type.ToUpperInvariant())));
        Assert.Equal(["EFI System", "root"], layout.Partitions.Select(p => p.Name));
        Assert.True(layout.Partitions[0].IsEfiSystem);
    }

    /// <summary>sfdisk lays out files with 512-byte sectors only, so the 4Kn table is written here from the UEFI spec.</summary>
    private static byte[] Gpt4KnImage(long size, long firstLba, long lastLba, Guid type)
    {
        const int sector = 4096;
        var image = new byte[size];
        var mbr = image.AsSpan(446, 16);
        mbr[4] = 0xEE;
        BinaryPrimitives.WriteUInt32LittleEndian(mbr[8..], 1);
        BinaryPrimitives.WriteUInt32LittleEndian(mbr[12..], (uint)((size / sector) - 1));
        BinaryPrimitives.WriteUInt16LittleEndian(image.AsSpan(510), 0xAA55);
        var entries = image.AsSpan(2 * sector, 128 * 128);
        type.TryWriteBytes(entries);
        Guid.NewGuid().TryWriteBytes(entries[16..]);
        BinaryPrimitives.WriteInt64LittleEndian(entries[32..], firstLba);
        BinaryPrimitives.WriteInt64LittleEndian(entries[40..], lastLba);
        var header = image.AsSpan(sector, 92);
        "EFI PART"u8.CopyTo(header);
        BinaryPrimitives.WriteUInt32LittleEndian(header[8..], 0x00010000);
        BinaryPrimitives.WriteInt32LittleEndian(header[12..], 92);
        BinaryPrimitives.WriteInt64LittleEndian(header[24..], 1);
        BinaryPrimitives.WriteInt64LittleEndian(header[32..], (size / sector) - 1);
        BinaryPrimitives.WriteInt64LittleEndian(header[40..], 6);
        BinaryPrimitives.WriteInt64LittleEndian(header[48..], (size / sector) - 6);
        Guid.NewGuid().TryWriteBytes(header[56..]);
        BinaryPrimitives.WriteInt64LittleEndian(header[72..], 2);
        BinaryPrimitives.WriteUInt32LittleEndian(header[80..], 128);
        BinaryPrimitives.WriteUInt32LittleEndian(header[84..], 128);
        BinaryPrimitives.WriteUInt32LittleEndian(header[88..], Crc32.HashToUInt32(entries));
        BinaryPrimitives.WriteUInt32LittleEndian(header[16..], Crc32.HashToUInt32(header));
        return image;
    }

    [Fact]
    public async Task A_gpt_on_4096_byte_sectors_is_found_with_its_sector_size()
    {
        using var dir = new TempDirectory();
        var raw = dir.File("4k.raw");
        await File.WriteAllBytesAsync(raw, Gpt4KnImage(16L << 20, 256, 256 + 2560 - 1, new Guid(EspType)));
        await using var disk = await DiskImage.OpenAsync(raw);
        var layout = await GuestDiskInspector.InspectAsync(disk);
        Assert.Equal(4096, layout.SectorSize);
        Assert.Equal(GuestBootMode.Uefi, layout.BootMode);
        Assert.Equal(256L * 4096, layout.Partitions.Single().Offset);
        Assert.Equal(2560L * 4096, layout.Partitions.Single().Length);
    }

    [Theory]
    [InlineData("label: gpt\nstart=2048, size=2048, type=" + BiosBootType + "\nstart=4096, type=" + LinuxType + "\n", PartitionScheme.Gpt, GuestBootMode.Bios, 2)]
    [InlineData("label: dos\nstart=2048, size=40960, type=83, bootable\nstart=43008, type=82\n", PartitionScheme.Mbr, GuestBootMode.Bios, 2)]
    [InlineData("label: dos\nstart=2048, size=40960, type=ef\nstart=43008, type=83\n", PartitionScheme.Mbr, GuestBootMode.Uefi, 2)]
    [InlineData("label: gpt\nstart=2048, type=" + LinuxType + "\n", PartitionScheme.Gpt, GuestBootMode.Unknown, 1)]
    public async Task Boot_mode_follows_the_partition_table(string script, PartitionScheme scheme, GuestBootMode bootMode, int partitions)
    {
        using var dir = new TempDirectory();
        var raw = await MakeDiskAsync(dir, "disk.raw", 64L << 20, script);
        await using var disk = await DiskImage.OpenAsync(raw);
        var layout = await GuestDiskInspector.InspectAsync(disk);
        Assert.Equal(scheme, layout.Scheme);
        Assert.Equal(bootMode, layout.BootMode);
        Assert.Equal(partitions, layout.Partitions.Count);
        var expected = await SfdiskPartitionsAsync(raw);
        Assert.Equal(expected.Select(p => (p.Start * 512, p.Size * 512)), layout.Partitions.Select(p => (p.Offset, p.Length)));
    }

    [Fact]
    public async Task A_blank_disk_has_no_table_and_no_boot_mode()
    {
        using var dir = new TempDirectory();
        var raw = dir.File("blank.raw");
        await ExternalTool.RunAsync("qemu-img", ["create", "-q", "-f", "raw", raw, "8M"]);
        await using var disk = await DiskImage.OpenAsync(raw);
        var layout = await GuestDiskInspector.InspectAsync(disk);
        Assert.Equal(PartitionScheme.None, layout.Scheme);
        Assert.Equal(GuestBootMode.Unknown, layout.BootMode);
    }

    [Fact]
    public async Task A_corrupted_entry_array_is_reported_and_relocation_refuses_to_touch_it()
    {
        using var dir = new TempDirectory();
        var raw = await MakeDiskAsync(dir, "bad.raw", 64L << 20, $"label: gpt\nstart=2048, type={LinuxType}\n");
        await using (var f = new FileStream(raw, FileMode.Open))
        {
            f.Position = 1024 + 40; // first entry's last LBA, covered by the array CRC
            f.WriteByte(0x7f);
            f.SetLength(128L << 20);
        }

        var before = TestData.Sha256(await File.ReadAllBytesAsync(raw));
        await using (var disk = await DiskImage.OpenAsync(raw))
        {
            var layout = await GuestDiskInspector.InspectAsync(disk);
            Assert.Contains(layout.Warnings, w => w.Contains("entry array", StringComparison.Ordinal));
        }

        var result = await GptBackupRelocation.MoveBackupToEndAsync(raw);
        Assert.False(result.Moved);
        Assert.Contains("damaged", result.Reason, StringComparison.Ordinal);
        Assert.Equal(before, TestData.Sha256(await File.ReadAllBytesAsync(raw)));
    }

    [Fact]
    public async Task The_backup_gpt_of_an_image_copied_to_a_larger_file_moves_to_the_end_and_sgdisk_finds_no_problem()
    {
        using var dir = new TempDirectory();
        var raw = await MakeDiskAsync(dir, "grow.raw", 100L << 20,
            $"label: gpt\nstart=2048, size=20480, type={EspType}\nstart=22528, type={LinuxType}\n");
        var partitionsBefore = await SfdiskPartitionsAsync(raw);
        var image = await File.ReadAllBytesAsync(raw);
        await using (var f = new FileStream(raw, FileMode.Open))
        {
            f.SetLength(1L << 30);
        }

        var (_, before, _) = await ExternalTool.TryRunAsync("sgdisk", ["-v", raw]);
        Assert.Contains("Problem: The secondary header", before, StringComparison.Ordinal);

        var result = await GptBackupRelocation.MoveBackupToEndAsync(raw);

        Assert.True(result.Moved, result.Reason);
        Assert.Equal((100L << 20) - 512, result.OldBackupOffset);
        Assert.Equal((1L << 30) - 512, result.NewBackupOffset);
        var after = await ExternalTool.RunAsync("sgdisk", ["-v", raw]);
        Assert.Contains("No problems found", after, StringComparison.Ordinal);
        Assert.Equal(partitionsBefore, await SfdiskPartitionsAsync(raw));

        // Partition contents (everything between the primary table and the old backup array) are untouched.
        var now = new byte[image.Length - (33 * 512) - (34 * 512)];
        await using (var f = File.OpenRead(raw))
        {
            f.Position = 34 * 512;
            await f.ReadExactlyAsync(now);
        }

        Assert.Equal(TestData.Sha256(image.AsSpan(34 * 512, now.Length)), TestData.Sha256(now));
        var again = await GptBackupRelocation.MoveBackupToEndAsync(raw);
        Assert.False(again.Moved);
    }

    [Fact]
    public async Task Relocation_through_an_nbd_export_leaves_a_table_sgdisk_accepts()
    {
        using var dir = new TempDirectory();
        var raw = await MakeDiskAsync(dir, "img.raw", 50L << 20, $"label: gpt\nstart=2048, size=4096, type={EspType}\nstart=8192, type={LinuxType}\n");
        await using var server = await ServerProcess.StartNbdkitAsync(true, "memory", "256M");
        await ExternalTool.RunAsync("nbdcopy", [raw, server.Uri()]);

        await using (var client = await NbdClient.ConnectAsync(server.Options()))
        {
            var layout = await GuestDiskInspector.InspectAsync(client);
            Assert.False(layout.GptBackupAtEnd);
            var result = await GptBackupRelocation.MoveBackupToEndAsync(client);
            Assert.True(result.Moved, result.Reason);
            Assert.True((await GuestDiskInspector.InspectAsync(client)).GptBackupAtEnd);
        }

        var back = dir.File("back.raw");
        await ExternalTool.RunAsync("nbdcopy", [server.Uri(), back]);
        Assert.Contains("No problems found", await ExternalTool.RunAsync("sgdisk", ["-v", back]), StringComparison.Ordinal);
    }
}
