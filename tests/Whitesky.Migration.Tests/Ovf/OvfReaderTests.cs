using System.Text;
using Whitesky.Migration.Ovf;

namespace Whitesky.Migration.Tests.Ovf;

/// <summary>Descriptors as VMware, VirtualBox and others write them, read into the SDK's model.</summary>
public class OvfReaderTests
{
    private static OvfEnvelope Parse(string xml) => OvfReader.Parse(Encoding.UTF8.GetBytes(xml), "test.ovf");

    [Fact]
    public void A_vmware_export_reads_cpus_memory_efi_windows_two_disks_on_scsi_sata_cd_and_the_nic_mac()
    {
        var envelope = Parse(Descriptors.VMware());

        Assert.Equal(1, envelope.OvfMajorVersion);
        Assert.Equal([("file1", "app01-disk1.vmdk", 1000L), ("file2", "app01-disk2.vmdk", 2000L)], envelope.Files.Select(f => (f.Id, f.Href, f.Size!.Value)));
        Assert.Equal([(16L << 30, OvfDiskFormat.VmdkStreamOptimized, (long?)3825205248), (1L << 30, OvfDiskFormat.VmdkStreamOptimized, 0)],
            envelope.Disks.Select(d => (d.CapacityBytes, d.Format, d.PopulatedSize)));

        var vm = Assert.Single(envelope.VirtualSystems);
        Assert.Equal("app01", vm.Name);
        var hw = vm.Hardware;
        Assert.Equal((4, 2, 8192L), (hw.Cpus!.Value, hw.CoresPerSocket!.Value, hw.MemoryMiB!.Value));
        Assert.Equal(OvfFirmware.Efi, hw.Firmware);
        Assert.Equal(["vmx-19"], hw.VirtualSystemTypes);
        Assert.Equal([("3", OvfControllerKind.Scsi, "VirtualSCSI"), ("4", OvfControllerKind.Sata, "vmware.sata.ahci")],
            hw.Controllers.Select(c => (c.InstanceId, c.Kind, c.SubType!)));
        Assert.Equal([("vmdisk1", OvfControllerKind.Scsi, 0), ("vmdisk2", OvfControllerKind.Scsi, 1)],
            hw.DiskDrives.Select(d => (d.DiskId!, d.ControllerKind, d.AddressOnParent!.Value)));
        var nic = Assert.Single(hw.NetworkAdapters);
        Assert.Equal(("VmxNet3", "00:50:56:ab:cd:ef", "VM Network"), (nic.Model!, nic.MacAddress!, nic.Network!));
        var cd = Assert.Single(hw.RemovableDrives);
        Assert.Equal((OvfRemovableDriveKind.CdDvd, "4", (string?)null), (cd.Kind, cd.ControllerId!, cd.HostResource));
        Assert.Equal(24, Assert.Single(hw.OtherDevices).ResourceType);

        Assert.Equal(("Windows", "Windows Server 2019", true), (vm.OperatingSystem.WhiteskyOsType, vm.OperatingSystem.WhiteskyOsName, vm.OperatingSystem.IsExactMatch));
        Assert.Equal("windows2019srv_64Guest", vm.OperatingSystem.VendorOsType);
        Assert.Contains(envelope.IgnoredSections, s => s.EndsWith("/BootOrderSection", StringComparison.Ordinal));
    }

    [Theory]
    [InlineData("bios", OvfFirmware.Bios)]
    [InlineData("efi", OvfFirmware.Efi)]
    public void Vmware_firmware_comes_from_vmw_config(string value, OvfFirmware expected) =>
        Assert.Equal(expected, Parse(Descriptors.VMware(firmware: value)).VirtualSystems[0].Hardware.Firmware);

    [Fact]
    public void A_firmware_attribute_on_the_virtual_system_is_read_when_vmw_config_does_not_say()
    {
        var xml = Descriptors.VMware(firmware: "unknown-value").Replace("<VirtualSystem ovf:id=\"app01\">", "<VirtualSystem ovf:id=\"app01\" vmw:firmware=\"efi\">", StringComparison.Ordinal);
        Assert.Equal(OvfFirmware.Efi, Parse(xml).VirtualSystems[0].Hardware.Firmware);
    }

    [Fact]
    public void A_virtualbox_export_reads_ide_and_ahci_bare_disk_references_megabytes_efi_ubuntu_and_the_mac_from_its_machine_section()
    {
        var envelope = Parse(Descriptors.VirtualBox());
        var vm = Assert.Single(envelope.VirtualSystems);
        var hw = vm.Hardware;
        Assert.Equal((2, 2048L), (hw.Cpus!.Value, hw.MemoryMiB!.Value));
        Assert.Equal(OvfFirmware.Efi, hw.Firmware);
        Assert.Equal([OvfControllerKind.Ide, OvfControllerKind.Sata], hw.Controllers.Select(c => c.Kind));
        var disk = Assert.Single(hw.DiskDrives);
        Assert.Equal(("vmdisk1", OvfControllerKind.Sata), (disk.DiskId!, disk.ControllerKind));
        Assert.Equal(10L << 30, envelope.Disks[0].CapacityBytes);
        Assert.Null(envelope.Files[0].Size);
        Assert.Equal(("E1000", "08:00:27:a1:b2:c3", "NAT"), (hw.NetworkAdapters[0].Model!, hw.NetworkAdapters[0].MacAddress!, hw.NetworkAdapters[0].Network!));
        Assert.Equal(OvfRemovableDriveKind.CdDvd, Assert.Single(hw.RemovableDrives).Kind);
        Assert.Equal((94, "Ubuntu_64", "Linux"), (vm.OperatingSystem.CimId!.Value, vm.OperatingSystem.VendorOsType!, vm.OperatingSystem.WhiteskyOsType));
        Assert.Equal("Linux - other", vm.OperatingSystem.WhiteskyOsName);
    }

    [Fact]
    public void An_ovf_2_envelope_with_storage_and_ethernet_port_items_and_an_nvme_controller_reads()
    {
        const string xml = """
            <Envelope xmlns="http://schemas.dmtf.org/ovf/envelope/2" xmlns:ovf="http://schemas.dmtf.org/ovf/envelope/2"
                      xmlns:rasd="http://schemas.dmtf.org/wbem/wscim/1/cim-schema/2/CIM_ResourceAllocationSettingData"
                      xmlns:sasd="http://schemas.dmtf.org/wbem/wscim/1/cim-schema/2/CIM_StorageAllocationSettingData"
                      xmlns:epasd="http://schemas.dmtf.org/wbem/wscim/1/cim-schema/2/CIM_EthernetPortAllocationSettingData">
              <References><File ovf:id="f1" ovf:href="d.qcow2" ovf:size="4096"/></References>
              <DiskSection><Info/><Disk ovf:diskId="d1" ovf:fileRef="f1" ovf:capacity="8192" ovf:capacityAllocationUnits="byte * 2^20" ovf:format="http://www.gnome.org/~markmc/qcow-image-format.html"/></DiskSection>
              <VirtualSystem ovf:id="vm">
                <Info/>
                <OperatingSystemSection ovf:id="80"><Info/><Description>Red Hat Enterprise Linux 8 (64-bit)</Description></OperatingSystemSection>
                <VirtualHardwareSection>
                  <Info/>
                  <Item><rasd:InstanceID>1</rasd:InstanceID><rasd:ResourceType>3</rasd:ResourceType><rasd:VirtualQuantity>8</rasd:VirtualQuantity></Item>
                  <Item><rasd:AllocationUnits>byte*2^30</rasd:AllocationUnits><rasd:InstanceID>2</rasd:InstanceID><rasd:ResourceType>4</rasd:ResourceType><rasd:VirtualQuantity>16</rasd:VirtualQuantity></Item>
                  <Item><rasd:InstanceID>3</rasd:InstanceID><rasd:ResourceSubType>vmware.nvme.controller</rasd:ResourceSubType><rasd:ResourceType>20</rasd:ResourceType></Item>
                  <StorageItem><sasd:AddressOnParent>0</sasd:AddressOnParent><sasd:HostResource>ovf:/disk/d1</sasd:HostResource><sasd:InstanceID>4</sasd:InstanceID><sasd:Parent>3</sasd:Parent><sasd:ResourceType>17</sasd:ResourceType></StorageItem>
                  <Item><rasd:ElementName>Floppy drive 1</rasd:ElementName><rasd:HostResource>ovf:/file/fd</rasd:HostResource><rasd:InstanceID>6</rasd:InstanceID><rasd:ResourceType>14</rasd:ResourceType></Item>
                  <EthernetPortItem><epasd:Address>52-54-00-12-34-56</epasd:Address><epasd:InstanceID>5</epasd:InstanceID><epasd:ResourceType>10</epasd:ResourceType></EthernetPortItem>
                </VirtualHardwareSection>
              </VirtualSystem>
            </Envelope>
            """;
        var envelope = Parse(xml);
        Assert.Equal(2, envelope.OvfMajorVersion);
        var hw = envelope.VirtualSystems[0].Hardware;
        Assert.Equal((8, 16384L), (hw.Cpus!.Value, hw.MemoryMiB!.Value));
        Assert.Equal(("d1", OvfControllerKind.Nvme), (hw.DiskDrives[0].DiskId!, hw.DiskDrives[0].ControllerKind));
        Assert.Equal("52:54:00:12:34:56", hw.NetworkAdapters[0].MacAddress);
        var floppy = Assert.Single(hw.RemovableDrives);
        Assert.Equal((OvfRemovableDriveKind.Floppy, "ovf:/file/fd"), (floppy.Kind, floppy.HostResource!));
        Assert.Equal((8L << 30, OvfDiskFormat.Qcow2), (envelope.Disks[0].CapacityBytes, envelope.Disks[0].Format));
        Assert.Equal(("Linux", "RHEL 8"), (envelope.VirtualSystems[0].OperatingSystem.WhiteskyOsType, envelope.VirtualSystems[0].OperatingSystem.WhiteskyOsName));
    }

    [Fact]
    public void Gzip_and_chunked_references_name_their_stored_parts()
    {
        var xml = Descriptors.VMware().Replace(
            "<File ovf:href=\"app01-disk1.vmdk\" ovf:id=\"file1\" ovf:size=\"1000\"/>",
            "<File ovf:href=\"app01-disk1.vmdk\" ovf:id=\"file1\" ovf:size=\"2500\" ovf:chunkSize=\"1000\" ovf:compression=\"gzip\"/>", StringComparison.Ordinal);
        var file = Parse(xml).Files[0];
        Assert.True(file.IsCompressed);
        Assert.Equal(["app01-disk1.vmdk.000", "app01-disk1.vmdk.001", "app01-disk1.vmdk.002"], file.StoredNames);
    }

    [Theory]
    [InlineData("ubuntu64Guest", "Ubuntu Linux (64-bit)", 94, "Linux", "Linux - other", false)]
    [InlineData("ubuntu64Guest", "Ubuntu 20.04.6 LTS", 94, "Linux", "Ubuntu 20.04", true)]
    [InlineData("debian10_64Guest", "Debian GNU/Linux 10 (64-bit)", 96, "Linux", "Debian 10", true)]
    [InlineData("centos7_64Guest", "CentOS 7 (64-bit)", 107, "Linux", "Centos 7", true)]
    [InlineData("rhel8_64Guest", "Red Hat Enterprise Linux 8 (64-bit)", 80, "Linux", "RHEL 8", true)]
    [InlineData("sles15_64Guest", "SUSE Linux Enterprise 15 (64-bit)", 85, "Linux", "Suse Linux Enterprise Server 15", true)]
    [InlineData("windows9Server64Guest", "Microsoft Windows Server 2016 (64-bit)", 1, "Windows", "Windows Server 2016", true)]
    [InlineData("windows8Server64Guest", "Microsoft Windows Server 2012 (64-bit)", 112, "Windows", "Windows Server 2012", true)]
    [InlineData("windows7_64Guest", "Microsoft Windows 7 (64-bit)", 105, "Windows", "Windows - other", false)]
    [InlineData("freebsd12_64Guest", "FreeBSD 12 (64-bit)", 78, "BSD", "Free bsd 12", true)]
    [InlineData("darwin19_64Guest", "Apple macOS 10.15 (64-bit)", 2, "Darwin", "Mac OS", true)]
    [InlineData("solaris11_64Guest", "Oracle Solaris 11 (64-bit)", 81, "Unix", "Unix - other", false)]
    [InlineData(null, null, 101, "Linux", "Linux - other", false)]
    [InlineData(null, null, 1, "Other", "other", true)]
    public void Operating_systems_map_to_the_api_os_type_and_os_name(string? vendor, string? description, int cim, string type, string name, bool exact)
    {
        var os = OvfOperatingSystemMap.Map(cim, vendor, description);
        Assert.Equal((type, name, exact), (os.WhiteskyOsType, os.WhiteskyOsName, os.IsExactMatch));
    }

    [Fact]
    public void Memory_and_capacity_units_of_every_spelling_convert_to_bytes()
    {
        Assert.Equal(1L << 30, OvfUnits.BytesPerUnit("byte * 2^30", 1));
        Assert.Equal(1L << 20, OvfUnits.BytesPerUnit("byte*2^20", 1));
        Assert.Equal(1_000_000_000L, OvfUnits.BytesPerUnit("byte * 10^9", 1));
        Assert.Equal(4096L, OvfUnits.BytesPerUnit("byte * 4096", 1));
        Assert.Equal(1L << 20, OvfUnits.BytesPerUnit("MegaBytes", 1));
        Assert.Equal(1L << 30, OvfUnits.BytesPerUnit("GB", 1));
        Assert.Equal(7L, OvfUnits.BytesPerUnit(null, 7));
        Assert.Null(OvfUnits.BytesPerUnit("hertz * 10^6", 1));
        Assert.Null(OvfUnits.BytesPerUnit("byte * 2^70", 1));
    }
}
