using System.Security.Cryptography;
using System.Text;
using Whitesky.Migration.Ovf;
using Whitesky.Nbd.Tests.Peers;

namespace Whitesky.Migration.Tests.Ovf;

/// <summary>Packages laid out like VMware/ovftool exports (disks made by qemu-img), validated before upload.</summary>
public class OvfPackageValidationTests
{
    /// <summary>An unpacked VMware export: app01.ovf, two streamOptimized VMDKs made by qemu-img, an ovftool-style manifest.</summary>
    private static async Task<string> VmwareFolderAsync(TempDirectory dir, Func<string, string>? editDescriptor = null, Func<string, string, string>? manifestLine = null)
    {
        long[] sizes = new long[2];
        for (var i = 0; i < 2; i++)
        {
            var raw = dir.File($"src{i}.raw");
            await File.WriteAllBytesAsync(raw, TestData.Random(1 << 20, 10 + i));
            var vmdk = dir.File($"app01-disk{i + 1}.vmdk");
            await ExternalTool.RunAsync("qemu-img", ["convert", "-f", "raw", "-O", "vmdk", "-o", "subformat=streamOptimized", raw, vmdk]);
            File.Delete(raw);
            sizes[i] = new FileInfo(vmdk).Length;
        }

        var descriptor = Descriptors.VMware(sizes[0], sizes[1]);
        descriptor = editDescriptor?.Invoke(descriptor) ?? descriptor;
        var ovf = dir.File("app01.ovf");
        await File.WriteAllTextAsync(ovf, descriptor);

        // ovftool writes "SHA256(name)= hex"; other tools "SHA1(name) = hex"; some CRLF. Mix all of them.
        var lines = new StringBuilder();
        string Hex(HashAlgorithm h, string file) => Convert.ToHexStringLower(h.ComputeHash(File.ReadAllBytes(dir.File(file))));
        lines.Append(manifestLine?.Invoke("app01.ovf", $"SHA1(app01.ovf)= {Hex(SHA1.Create(), "app01.ovf")}") ?? $"SHA1(app01.ovf)= {Hex(SHA1.Create(), "app01.ovf")}").Append("\r\n");
        lines.Append(manifestLine?.Invoke("app01-disk1.vmdk", $"SHA256(app01-disk1.vmdk) = {Hex(SHA256.Create(), "app01-disk1.vmdk").ToUpperInvariant()}") ?? $"SHA256(app01-disk1.vmdk) = {Hex(SHA256.Create(), "app01-disk1.vmdk").ToUpperInvariant()}").Append("\r\n");
        lines.Append(manifestLine?.Invoke("app01-disk2.vmdk", $"SHA512(app01-disk2.vmdk)= {Hex(SHA512.Create(), "app01-disk2.vmdk")}") ?? $"SHA512(app01-disk2.vmdk)= {Hex(SHA512.Create(), "app01-disk2.vmdk")}").Append('\n');
        await File.WriteAllTextAsync(dir.File("app01.mf"), lines.ToString());
        return ovf;
    }

    [Fact]
    public async Task A_vmware_export_with_a_mixed_crlf_manifest_validates_clean_and_every_digest_is_checked()
    {
        using var dir = new TempDirectory();
        var ovf = await VmwareFolderAsync(dir);
        using var package = await OvfPackage.OpenAsync(ovf);

        Assert.Equal([("SHA1", "app01.ovf"), ("SHA256", "app01-disk1.vmdk"), ("SHA512", "app01-disk2.vmdk")],
            package.Manifest!.Entries.Select(e => (e.Algorithm, e.FileName)));
        var report = await package.ValidateAsync();
        Assert.True(report.IsValid, string.Join("\n", report.Findings));
        Assert.Empty(report.Warnings);
        Assert.Contains(report.Findings, f => f.Code == OvfFindingCodes.IgnoredSection);
    }

    [Fact]
    public async Task A_changed_byte_in_a_disk_is_a_digest_mismatch_naming_the_file()
    {
        using var dir = new TempDirectory();
        var ovf = await VmwareFolderAsync(dir);
        await using (var disk = new FileStream(dir.File("app01-disk2.vmdk"), FileMode.Open, FileAccess.ReadWrite))
        {
            disk.Position = disk.Length - 2000;
            var b = disk.ReadByte();
            disk.Position--;
            disk.WriteByte((byte)(b ^ 1));
        }

        using var package = await OvfPackage.OpenAsync(ovf);
        var report = await package.ValidateAsync();
        var error = Assert.Single(report.Errors);
        Assert.Equal((OvfFindingCodes.DigestMismatch, "app01-disk2.vmdk"), (error.Code, error.Subject));
        Assert.Contains("SHA512", error.Message, StringComparison.Ordinal);

        // Without digests the same package passes: the check is what found it.
        Assert.True((await package.ValidateAsync(new OvfValidationOptions { VerifyDigests = false })).IsValid);
    }

    [Fact]
    public async Task A_missing_disk_and_a_wrong_size_are_reported_before_upload()
    {
        using var dir = new TempDirectory();
        var ovf = await VmwareFolderAsync(dir, d => d.Replace("ovf:id=\"file1\" ovf:size=\"", "ovf:id=\"file1\" ovf:size=\"1", StringComparison.Ordinal));
        File.Delete(dir.File("app01-disk2.vmdk"));

        using var package = await OvfPackage.OpenAsync(ovf);
        var report = await package.ValidateAsync();
        Assert.False(report.IsValid);
        Assert.Equal(
            [(OvfFindingCodes.ManifestFileMissing, "app01-disk2.vmdk"), (OvfFindingCodes.MissingFile, "app01-disk2.vmdk"), (OvfFindingCodes.SizeMismatch, "app01-disk1.vmdk")],
            report.Errors.Select(e => (e.Code, e.Subject)).Order());
    }

    [Fact]
    public async Task Unsupported_formats_wrong_content_several_vms_and_passthrough_adapters_are_errors()
    {
        using var dir = new TempDirectory();
        var ovf = await VmwareFolderAsync(dir, d => d
            .Replace("ovf:fileRef=\"file2\" ovf:format=\"http://www.vmware.com/interfaces/specifications/vmdk.html#streamOptimized\"",
                     "ovf:fileRef=\"file2\" ovf:format=\"http://go.microsoft.com/fwlink/?LinkId=137171\"", StringComparison.Ordinal)
            .Replace("ovf:fileRef=\"file1\" ovf:format=\"http://www.vmware.com/interfaces/specifications/vmdk.html#streamOptimized\"",
                     "ovf:fileRef=\"file1\" ovf:format=\"http://www.gnome.org/~markmc/qcow-image-format.html\"", StringComparison.Ordinal)
            .Replace("<vmw:BootOrderSection", """
                <Item xmlns="http://schemas.dmtf.org/ovf/envelope/1"><rasd:ElementName>FC HBA</rasd:ElementName><rasd:InstanceID>40</rasd:InstanceID><rasd:ResourceType>7</rasd:ResourceType></Item>
                <vmw:BootOrderSection
                """, StringComparison.Ordinal)
            .Replace("</VirtualHardwareSection>", """
                  <Item><rasd:ElementName>FC HBA</rasd:ElementName><rasd:InstanceID>40</rasd:InstanceID><rasd:ResourceType>7</rasd:ResourceType></Item>
                </VirtualHardwareSection>
                """, StringComparison.Ordinal));
        using var package = await OvfPackage.OpenAsync(ovf);
        var report = await package.ValidateAsync(new OvfValidationOptions { VerifyDigests = false });
        var codes = report.Errors.Select(e => (e.Code, e.Subject)).ToList();
        Assert.Contains((OvfFindingCodes.UnsupportedDiskFormat, "vmdisk2"), codes);
        Assert.Contains((OvfFindingCodes.DiskContentMismatch, "app01-disk1.vmdk"), codes);
        Assert.Contains((OvfFindingCodes.UnsupportedDevice, "FC HBA"), codes);
        Assert.Contains(report.Findings, f => f.Code == OvfFindingCodes.IgnoredSection && f.Subject.EndsWith("/Item", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Chunked_gzip_files_are_checked_part_by_part()
    {
        using var dir = new TempDirectory();
        var ovf = await VmwareFolderAsync(dir, d => d.Replace(
            "<File ovf:href=\"app01-disk2.vmdk\" ovf:id=\"file2\" ovf:size=\"",
            "<File ovf:href=\"big.vmdk\" ovf:id=\"file3\" ovf:size=\"2500\" ovf:chunkSize=\"1000\" ovf:compression=\"gzip\"/>\n<File ovf:href=\"app01-disk2.vmdk\" ovf:id=\"file2\" ovf:size=\"", StringComparison.Ordinal));
        await File.WriteAllBytesAsync(dir.File("big.vmdk.000"), new byte[1000]);
        await File.WriteAllBytesAsync(dir.File("big.vmdk.001"), new byte[999]);

        using var package = await OvfPackage.OpenAsync(ovf);
        var report = await package.ValidateAsync(new OvfValidationOptions { VerifyDigests = false });
        Assert.Contains(report.Errors, e => (e.Code, e.Subject) == (OvfFindingCodes.MissingFile, "big.vmdk.002"));
        Assert.Contains(report.Errors, e => (e.Code, e.Subject) == (OvfFindingCodes.SizeMismatch, "big.vmdk.001"));
        Assert.Contains(report.Warnings, w => (w.Code, w.Subject) == (OvfFindingCodes.CompressedFile, "big.vmdk"));
        Assert.Contains(report.Warnings, w => (w.Code, w.Subject) == (OvfFindingCodes.ChunkedFile, "big.vmdk"));
    }

    [Fact]
    public async Task A_virtualbox_package_without_manifest_validates_with_a_note_and_fails_when_a_manifest_is_required()
    {
        using var dir = new TempDirectory();
        var raw = dir.File("src.raw");
        await File.WriteAllBytesAsync(raw, TestData.Random(1 << 20, 3));
        await ExternalTool.RunAsync("qemu-img", ["convert", "-f", "raw", "-O", "vmdk", "-o", "subformat=streamOptimized", raw, dir.File("ubuntu-disk001.vmdk")]);
        await File.WriteAllTextAsync(dir.File("ubuntu.ovf"), Descriptors.VirtualBox());

        using var package = await OvfPackage.OpenAsync(dir.File("ubuntu.ovf"));
        var report = await package.ValidateAsync();
        Assert.True(report.IsValid, string.Join("\n", report.Findings));
        Assert.Contains(report.Findings, f => f.Code == OvfFindingCodes.NoManifest && f.Severity == OvfFindingSeverity.Info);
        Assert.Contains(report.Warnings, f => f.Code == OvfFindingCodes.OsNotMapped);
        Assert.False((await package.ValidateAsync(new OvfValidationOptions { RequireManifest = true })).IsValid);
    }

    [Fact]
    public async Task A_symbolic_link_in_a_package_folder_is_refused()
    {
        using var dir = new TempDirectory();
        var ovf = await VmwareFolderAsync(dir);
        File.Delete(dir.File("app01-disk2.vmdk"));
        File.CreateSymbolicLink(dir.File("app01-disk2.vmdk"), "/etc/hostname");
        using var package = await OvfPackage.OpenAsync(ovf);
        var error = await Assert.ThrowsAsync<OvfException>(() => package.ValidateAsync());
        Assert.Contains("symbolic link", error.Message, StringComparison.Ordinal);
    }
}
