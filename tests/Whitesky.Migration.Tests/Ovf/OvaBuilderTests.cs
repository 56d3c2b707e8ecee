using System.Security.Cryptography;
using Whitesky.DiskFormats;
using Whitesky.Migration.Ovf;
using Whitesky.Nbd.Tests.Peers;

namespace Whitesky.Migration.Tests.Ovf;

/// <summary>OVAs built by the SDK, read back by tar, qemu-img and our own readers.</summary>
public class OvaBuilderTests
{
    [Fact]
    public async Task An_ova_built_from_a_qcow2_unpacks_with_tar_and_its_vmdk_reads_like_the_source_in_qemu_img_and_our_reader()
    {
        using var dir = new TempDirectory();
        var image = dir.File("source.qcow2");
        // 50 MiB and 3 sectors: the last grain and the last grain table are partial.
        var capacity = (50L << 20) + 1536;
        await ExternalTool.RunAsync("qemu-img", ["create", "-q", "-f", "qcow2", image, capacity.ToString(System.Globalization.CultureInfo.InvariantCulture)]);
        await ExternalTool.RunAsync("qemu-io", ["-f", "qcow2",
            "-c", "write -P 0x3c 1M 3M", "-c", "write -P 0x7e 33M 100k", "-c", "write -z 40M 1M",
            "-c", $"write -P 0x11 {capacity - 1024} 1024", image]);
        var expected = dir.File("expected.raw");
        await ExternalTool.RunAsync("qemu-img", ["convert", "-f", "qcow2", "-O", "raw", image, expected]);

        var ova = dir.File("web01.ova");
        var result = await OvaBuilder.BuildAsync([image], ova, new OvaBuildOptions
        {
            Name = "web01",
            Cpus = 4,
            MemoryMiB = 3072,
            Firmware = OvfFirmware.Efi,
            OsType = "Linux",
            OsName = "Ubuntu 20.04",
        });

        // VMware's order: descriptor, manifest, disks.
        var listing = (await ExternalTool.RunAsync("tar", ["-tf", ova])).Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal(["web01.ovf", "web01.mf", "web01-disk1.vmdk"], listing);
        var extracted = Path.Combine(dir.Path, "x");
        Directory.CreateDirectory(extracted);
        await ExternalTool.RunAsync("tar", ["-xf", ova, "-C", extracted]);

        var vmdk = Path.Combine(extracted, "web01-disk1.vmdk");
        var info = await ExternalTool.RunAsync("qemu-img", ["info", "-f", "vmdk", vmdk]);
        Assert.Contains("streamOptimized", info, StringComparison.Ordinal);
        var converted = dir.File("converted.raw");
        await ExternalTool.RunAsync("qemu-img", ["convert", "-f", "vmdk", "-O", "raw", vmdk, converted]);
        Assert.Equal(new FileInfo(expected).Length, new FileInfo(converted).Length);
        Assert.Equal(await TestData.Sha256FileAsync(expected), await TestData.Sha256FileAsync(converted));
        await ExternalTool.RunAsync("qemu-img", ["check", "-f", "vmdk", vmdk]);

        await using (var ours = await DiskImage.OpenAsync(vmdk))
        {
            Assert.Equal(capacity, ours.Capacity);
            var bytes = new byte[ours.Capacity];
            await ours.ReadAsync(0, bytes);
            Assert.Equal(await TestData.Sha256FileAsync(expected), TestData.Sha256(bytes));
        }

        // Written data only: 3 MiB + 100 KiB (two grains) + the last grain; zeroes and holes are skipped.
        Assert.Equal(48 + 2 + 1, result.Disks[0].GrainsWritten);
        Assert.True(new FileInfo(vmdk).Length < 1 << 20, "the zero grains must not be written");

        // The manifest is ovftool's layout and matches the files.
        var manifest = await File.ReadAllTextAsync(Path.Combine(extracted, "web01.mf"));
        Assert.Contains($"SHA256(web01-disk1.vmdk)= {Convert.ToHexStringLower(SHA256.HashData(await File.ReadAllBytesAsync(vmdk)))}", manifest, StringComparison.Ordinal);
        Assert.Contains($"SHA256(web01.ovf)= {Convert.ToHexStringLower(SHA256.HashData(await File.ReadAllBytesAsync(Path.Combine(extracted, "web01.ovf"))))}", manifest, StringComparison.Ordinal);

        // Our reader: the archive and the unpacked folder say the same and validate clean.
        foreach (var path in new[] { ova, Path.Combine(extracted, "web01.ovf") })
        {
            using var package = await OvfPackage.OpenAsync(path);
            var system = Assert.Single(package.Envelope.VirtualSystems);
            Assert.Equal("web01", system.Name);
            Assert.Equal(4, system.Hardware.Cpus);
            Assert.Equal(3072, system.Hardware.MemoryMiB);
            Assert.Equal(OvfFirmware.Efi, system.Hardware.Firmware);
            Assert.Equal(("Linux", "Ubuntu 20.04"), (system.OperatingSystem.WhiteskyOsType, system.OperatingSystem.WhiteskyOsName));
            var disk = Assert.Single(package.Envelope.Disks);
            Assert.Equal(capacity, disk.CapacityBytes);
            Assert.Equal(OvfDiskFormat.VmdkStreamOptimized, disk.Format);
            Assert.Equal(OvfControllerKind.Scsi, Assert.Single(system.Hardware.DiskDrives).ControllerKind);
            var report = await package.ValidateAsync();
            Assert.True(report.IsValid, string.Join("\n", report.Findings));
            Assert.Empty(report.Warnings);
            Assert.Equal(path == ova, package.IsArchive);
        }
    }

    [Fact]
    public async Task An_ova_of_three_disks_including_an_empty_one_and_a_vmdk_keeps_their_order_and_content()
    {
        using var dir = new TempDirectory();
        var boot = dir.File("boot.raw");
        await File.WriteAllBytesAsync(boot, TestData.Random(2 << 20, 7));
        var empty = dir.File("empty.qcow2");
        await ExternalTool.RunAsync("qemu-img", ["create", "-q", "-f", "qcow2", empty, "100M"]);
        var data = dir.File("data.vmdk");
        await ExternalTool.RunAsync("qemu-img", ["create", "-q", "-f", "vmdk", data, "40M"]);
        await ExternalTool.RunAsync("qemu-io", ["-f", "vmdk", "-c", "write -P 0x5a 36M 4M", data]);
        string[] sources = [boot, empty, data];

        var ova = dir.File("three.ova");
        var result = await OvaBuilder.BuildAsync(sources, ova, new OvaBuildOptions { Name = "three", NetworkAdapters = 2 });
        Assert.Equal([32L, 0L, 64L], result.Disks.Select(d => d.GrainsWritten));
        Assert.Equal(0, result.Disks[1].PopulatedBytes);

        var extracted = Path.Combine(dir.Path, "x");
        Directory.CreateDirectory(extracted);
        await ExternalTool.RunAsync("tar", ["-xf", ova, "-C", extracted]);
        for (var i = 0; i < 3; i++)
        {
            var format = Path.GetExtension(sources[i]).TrimStart('.');
            var expected = dir.File($"e{i}.raw");
            var actual = dir.File($"a{i}.raw");
            await ExternalTool.RunAsync("qemu-img", ["convert", "-f", format, "-O", "raw", sources[i], expected]);
            await ExternalTool.RunAsync("qemu-img", ["convert", "-f", "vmdk", "-O", "raw", Path.Combine(extracted, $"three-disk{i + 1}.vmdk"), actual]);
            Assert.Equal(await TestData.Sha256FileAsync(expected), await TestData.Sha256FileAsync(actual));
        }

        using var package = await OvfPackage.OpenAsync(ova);
        var hardware = package.Envelope.VirtualSystems[0].Hardware;
        Assert.Equal([(2L << 20, "vmdisk1"), (100L << 20, "vmdisk2"), (40L << 20, "vmdisk3")],
            package.Envelope.Disks.Select(d => (d.CapacityBytes, d.DiskId)));
        Assert.Equal([0, 1, 2], hardware.DiskDrives.Select(d => d.AddressOnParent!.Value));
        Assert.Equal(2, hardware.NetworkAdapters.Count);
        Assert.Equal(OvfFirmware.Bios, hardware.Firmware);
        Assert.True((await package.ValidateAsync()).IsValid);
    }

    [Fact]
    public async Task A_damaged_disk_in_a_built_ova_fails_validation_by_digest()
    {
        using var dir = new TempDirectory();
        var image = dir.File("d.raw");
        await File.WriteAllBytesAsync(image, TestData.Random(3 << 20, 5));
        var ova = dir.File("vm.ova");
        var result = await OvaBuilder.BuildAsync([image], ova, new OvaBuildOptions { Name = "vm" });

        // Flip one byte inside the VMDK's data in the archive (after the descriptor and manifest entries).
        using (var file = new FileStream(ova, FileMode.Open, FileAccess.ReadWrite))
        {
            file.Position = result.Length - 4096 - 700;
            var b = file.ReadByte();
            file.Position--;
            file.WriteByte((byte)(b ^ 0xFF));
        }

        using var package = await OvfPackage.OpenAsync(ova);
        var report = await package.ValidateAsync();
        Assert.False(report.IsValid);
        var finding = Assert.Single(report.Errors);
        Assert.Equal(OvfFindingCodes.DigestMismatch, finding.Code);
        Assert.Equal("vm-disk1.vmdk", finding.Subject);
    }
}
