using System.Globalization;
using System.Xml;
using System.Xml.Linq;

namespace Whitesky.Migration.Ovf;

/// <summary>Writes the OVF 1.0 descriptor of a package the SDK builds, in the layout VMware's ovftool uses.</summary>
internal static class OvfDescriptorWriter
{
    private static readonly XNamespace Ovf = OvfConstants.OvfNamespace1;
    private static readonly XNamespace Rasd = OvfConstants.RasdNamespace;
    private static readonly XNamespace Vssd = OvfConstants.VssdNamespace;
    private static readonly XNamespace Vmw = OvfConstants.VmwareNamespace;

    public sealed record DiskFile(string FileName, long FileSize, long Capacity, long Populated);

    public static byte[] Write(OvaBuildOptions options, IReadOnlyList<DiskFile> disks)
    {
        var instance = 0;
        string Next() => (++instance).ToString(CultureInfo.InvariantCulture);
        static string N(long value) => value.ToString(CultureInfo.InvariantCulture);

        var references = new XElement(Ovf + "References",
            disks.Select((d, i) => new XElement(Ovf + "File", new XAttribute(Ovf + "href", d.FileName), new XAttribute(Ovf + "id", $"file{i + 1}"), new XAttribute(Ovf + "size", N(d.FileSize)))));
        var diskSection = new XElement(Ovf + "DiskSection", new XElement(Ovf + "Info", "Virtual disk information"),
            disks.Select((d, i) => new XElement(Ovf + "Disk",
                new XAttribute(Ovf + "capacity", N(d.Capacity)), new XAttribute(Ovf + "capacityAllocationUnits", "byte"),
                new XAttribute(Ovf + "diskId", $"vmdisk{i + 1}"), new XAttribute(Ovf + "fileRef", $"file{i + 1}"),
                new XAttribute(Ovf + "format", OvfConstants.VmdkStreamOptimizedFormat), new XAttribute(Ovf + "populatedSize", N(d.Populated)))));

        var items = new List<XElement>
        {
            Item(("AllocationUnits", "hertz * 10^6"), ("Description", "Number of Virtual CPUs"), ("ElementName", $"{options.Cpus} virtual CPU(s)"),
                ("InstanceID", Next()), ("ResourceType", OvfConstants.ResourceProcessor.ToString(CultureInfo.InvariantCulture)), ("VirtualQuantity", options.Cpus.ToString(CultureInfo.InvariantCulture))),
            Item(("AllocationUnits", "byte * 2^20"), ("Description", "Memory Size"), ("ElementName", $"{options.MemoryMiB}MB of memory"),
                ("InstanceID", Next()), ("ResourceType", OvfConstants.ResourceMemory.ToString(CultureInfo.InvariantCulture)), ("VirtualQuantity", N(options.MemoryMiB))),
        };

        var controller = Next();
        items.Add(Item(("Address", "0"), ("Description", "SCSI Controller"), ("ElementName", "SCSI controller 0"), ("InstanceID", controller),
            ("ResourceSubType", "lsilogic"), ("ResourceType", OvfConstants.ResourceParallelScsiHba.ToString(CultureInfo.InvariantCulture))));
        for (var i = 0; i < disks.Count; i++)
        {
            // SCSI unit 7 is the controller itself.
            var unit = i < 7 ? i : i + 1;
            items.Add(Item(("AddressOnParent", unit.ToString(CultureInfo.InvariantCulture)), ("ElementName", $"Hard disk {i + 1}"), ("HostResource", $"ovf:/disk/vmdisk{i + 1}"),
                ("InstanceID", Next()), ("Parent", controller), ("ResourceType", OvfConstants.ResourceDiskDrive.ToString(CultureInfo.InvariantCulture))));
        }

        for (var i = 0; i < options.NetworkAdapters; i++)
        {
            items.Add(Item(("AddressOnParent", (i + 7).ToString(CultureInfo.InvariantCulture)), ("AutomaticAllocation", "true"), ("Connection", "VM Network"),
                ("Description", "VmxNet3 ethernet adapter on \"VM Network\""), ("ElementName", $"Network adapter {i + 1}"), ("InstanceID", Next()),
                ("ResourceSubType", "VmxNet3"), ("ResourceType", OvfConstants.ResourceEthernetAdapter.ToString(CultureInfo.InvariantCulture))));
        }

        var hardware = new XElement(Ovf + "VirtualHardwareSection", new XElement(Ovf + "Info", "Virtual hardware requirements"),
            new XElement(Ovf + "System",
                new XElement(Vssd + "ElementName", "Virtual Hardware Family"), new XElement(Vssd + "InstanceID", "0"),
                new XElement(Vssd + "VirtualSystemIdentifier", options.Name), new XElement(Vssd + "VirtualSystemType", "vmx-14")),
            items,
            new XElement(Vmw + "Config", new XAttribute(Ovf + "required", "false"), new XAttribute(Vmw + "key", "firmware"),
                new XAttribute(Vmw + "value", options.Firmware == OvfFirmware.Efi ? "efi" : "bios")));

        var envelope = new XElement(Ovf + "Envelope",
            new XAttribute(XNamespace.Xmlns + "ovf", Ovf.NamespaceName), new XAttribute(XNamespace.Xmlns + "rasd", Rasd.NamespaceName),
            new XAttribute(XNamespace.Xmlns + "vssd", Vssd.NamespaceName), new XAttribute(XNamespace.Xmlns + "vmw", Vmw.NamespaceName),
            references, diskSection,
            options.NetworkAdapters > 0
                ? new XElement(Ovf + "NetworkSection", new XElement(Ovf + "Info", "The list of logical networks"),
                    new XElement(Ovf + "Network", new XAttribute(Ovf + "name", "VM Network"), new XElement(Ovf + "Description", "The VM Network network")))
                : null,
            new XElement(Ovf + "VirtualSystem", new XAttribute(Ovf + "id", options.Name),
                new XElement(Ovf + "Info", "A virtual machine"), new XElement(Ovf + "Name", options.Name),
                new XElement(Ovf + "OperatingSystemSection", new XAttribute(Ovf + "id", OvfOperatingSystemMap.CimIdFor(options.OsType, options.OsName).ToString(CultureInfo.InvariantCulture)),
                    new XElement(Ovf + "Info", "The kind of installed guest operating system"), new XElement(Ovf + "Description", options.OsName)),
                hardware));

        using var buffer = new MemoryStream();
        using (var writer = XmlWriter.Create(buffer, new XmlWriterSettings { Indent = true, Encoding = new System.Text.UTF8Encoding(false) }))
        {
            new XDocument(new XDeclaration("1.0", "UTF-8", null), envelope).Save(writer);
        }

        return buffer.ToArray();
    }

    private static XElement Item(params (string Name, string Value)[] fields) =>
        new(Ovf + "Item", fields.Select(f => new XElement(Rasd + f.Name, f.Value)));
}
