using System.Text;
using Whitesky.Migration.Ovf;
using Whitesky.Nbd.Tests.Peers;

namespace Whitesky.Migration.Tests.Ovf;

/// <summary>Hostile descriptors, manifests and archives: each fails fast with an error that names what and where.</summary>
public class OvfHostileTests
{
    private static OvfException Refused(string xml) =>
        Assert.Throws<OvfException>(() => OvfReader.Parse(Encoding.UTF8.GetBytes(xml), "evil.ovf"));

    [Fact]
    public void Entity_expansion_through_a_dtd_is_refused_before_anything_expands()
    {
        var laughs = new StringBuilder("<?xml version=\"1.0\"?><!DOCTYPE Envelope [<!ENTITY lol \"lol\">");
        for (var i = 1; i < 10; i++)
        {
            laughs.Append($"<!ENTITY lol{i} \"{string.Concat(Enumerable.Repeat($"&lol{(i == 1 ? "" : i - 1)};", 10))}\">");
        }

        laughs.Append("]><Envelope xmlns=\"http://schemas.dmtf.org/ovf/envelope/1\">&lol9;</Envelope>");
        var error = Refused(laughs.ToString());
        Assert.Contains("DTD", error.Message, StringComparison.Ordinal);
        Assert.Equal("evil.ovf", error.File);
    }

    [Fact]
    public void An_external_entity_is_never_resolved()
    {
        var error = Refused("""<?xml version="1.0"?><!DOCTYPE x [<!ENTITY xxe SYSTEM "file:///etc/passwd">]><Envelope xmlns="http://schemas.dmtf.org/ovf/envelope/1"><References><File ovf:id="a" ovf:href="&xxe;" xmlns:ovf="http://schemas.dmtf.org/ovf/envelope/1"/></References></Envelope>""");
        Assert.Contains("DTD", error.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("../../etc/passwd")]
    [InlineData("/etc/passwd")]
    [InlineData("disks/../../x.vmdk")]
    [InlineData("http://attacker.example/x.vmdk")]
    [InlineData("C:/Windows/x.vmdk")]
    [InlineData("..\\x.vmdk")]
    public void File_references_that_leave_the_package_are_refused(string href)
    {
        var error = Refused(Descriptors.VMware().Replace("ovf:href=\"app01-disk1.vmdk\"", $"ovf:href=\"{href}\"", StringComparison.Ordinal));
        Assert.Contains("References/File[@id='file1']", error.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("ovf:capacity=\"99999999999999999999999\"", "not a whole number")]
    [InlineData("ovf:capacity=\"${disk.size}\"", "property references")]
    [InlineData("ovf:capacity=\"16\" ovf:capacityAllocationUnits=\"byte * 2^59\"", "larger than")]
    [InlineData("ovf:capacity=\"16\" ovf:capacityAllocationUnits=\"furlongs\"", "not understood")]
    public void Capacities_that_overflow_or_are_not_numbers_are_refused(string capacity, string problem)
    {
        var xml = Descriptors.VMware().Replace("ovf:capacity=\"16\" ovf:capacityAllocationUnits=\"byte * 2^30\"", capacity, StringComparison.Ordinal);
        var error = Refused(xml);
        Assert.Contains("DiskSection/Disk[@diskId='vmdisk1']", error.Message, StringComparison.Ordinal);
        Assert.Contains(problem, error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_chunk_size_that_makes_millions_of_parts_is_refused()
    {
        var error = Refused(Descriptors.VMware().Replace("ovf:size=\"1000\"", "ovf:size=\"1099511627776\" ovf:chunkSize=\"1\"", StringComparison.Ordinal));
        Assert.Contains("parts", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void An_unknown_section_marked_required_is_refused_and_one_not_required_is_ignored()
    {
        var required = Descriptors.VMware(extra: """<acme:LicenseSection xmlns:acme="urn:acme" ovf:required="true"><Info>must be honoured</Info></acme:LicenseSection>""");
        var error = Refused(required);
        Assert.Contains("LicenseSection", error.Message, StringComparison.Ordinal);
        Assert.Contains("required", error.Message, StringComparison.Ordinal);

        var optional = Descriptors.VMware(extra: """<acme:LicenseSection xmlns:acme="urn:acme" ovf:required="false"><Info>may be ignored</Info></acme:LicenseSection>""");
        var envelope = OvfReader.Parse(Encoding.UTF8.GetBytes(optional), "ok.ovf");
        Assert.Contains(envelope.IgnoredSections, s => s.EndsWith("/LicenseSection", StringComparison.Ordinal));
    }

    [Fact]
    public void An_ovf_required_value_that_is_not_a_boolean_is_refused()
    {
        var error = Refused(Descriptors.VMware(extra: """<acme:X xmlns:acme="urn:acme" ovf:required="yes"/>"""));
        Assert.Contains("is not a boolean", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Broken_xml_names_the_line()
    {
        var error = Refused("<Envelope xmlns=\"http://schemas.dmtf.org/ovf/envelope/1\">\n<References>\n</Envelope>");
        Assert.Contains("line 3", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_descriptor_larger_than_the_cap_is_refused_without_parsing()
    {
        var huge = new byte[(16 << 20) + 1];
        var error = Assert.Throws<OvfException>(() => OvfReader.Parse(huge, "huge.ovf"));
        Assert.Contains("accepted", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_disk_referring_to_a_file_id_that_does_not_exist_is_refused()
    {
        var error = Refused(Descriptors.VMware().Replace("ovf:fileRef=\"file2\"", "ovf:fileRef=\"nope\"", StringComparison.Ordinal));
        Assert.Contains("fileRef 'nope'", error.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("SHA256(../../etc/shadow)= 0000000000000000000000000000000000000000000000000000000000000000", "leave the package")]
    [InlineData("SHA256(a.vmdk)= 00ff", "64 hex digits")]
    [InlineData("MD5(a.vmdk)= d41d8cd98f00b204e9800998ecf8427e", "not a line")]
    public void Hostile_manifest_lines_are_refused_with_their_line_number(string line, string problem)
    {
        var error = Assert.Throws<OvfException>(() => OvfManifest.Parse("SHA1(x.ovf)= da39a3ee5e6b4b0d3255bfef95601890afd80709\r\n" + line + "\r\n", "evil.mf"));
        Assert.Contains("line 2", error.Message, StringComparison.Ordinal);
        Assert.Contains(problem, error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task An_archive_entry_that_leaves_the_package_is_refused()
    {
        using var dir = new TempDirectory();
        var ova = dir.File("evil.ova");
        await WriteTarAsync(ova, ("../evil.ovf", Encoding.UTF8.GetBytes(Descriptors.VMware())));
        var error = await Assert.ThrowsAsync<OvfException>(() => OvfPackage.OpenAsync(ova));
        Assert.Contains("../evil.ovf", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task An_archive_whose_entry_runs_past_its_end_or_whose_header_is_damaged_is_refused()
    {
        using var dir = new TempDirectory();
        var ova = dir.File("cut.ova");
        await WriteTarAsync(ova, ("vm.ovf", Encoding.UTF8.GetBytes(Descriptors.VMware())), ("vm-disk1.vmdk", new byte[100_000]));
        var bytes = await File.ReadAllBytesAsync(ova);

        await File.WriteAllBytesAsync(ova, bytes.AsSpan(0, bytes.Length - 60_000).ToArray());
        var cut = await Assert.ThrowsAsync<OvfException>(() => OvfPackage.OpenAsync(ova));
        Assert.Contains("past the end", cut.Message, StringComparison.Ordinal);

        bytes[3] ^= 0x20;
        await File.WriteAllBytesAsync(ova, bytes);
        var damaged = await Assert.ThrowsAsync<OvfException>(() => OvfPackage.OpenAsync(ova));
        Assert.Contains("checksum", damaged.Message, StringComparison.Ordinal);
    }

    internal static async Task WriteTarAsync(string path, params (string Name, byte[] Data)[] entries)
    {
        await using var file = File.Create(path);
        var tar = new UstarWriter(file);
        foreach (var (name, data) in entries)
        {
            await tar.WriteHeaderAsync(name, data.Length, DateTimeOffset.UnixEpoch, CancellationToken.None);
            await tar.WriteAsync(data, CancellationToken.None);
            await tar.PadAsync(CancellationToken.None);
        }

        await tar.FinishAsync(CancellationToken.None);
    }
}
