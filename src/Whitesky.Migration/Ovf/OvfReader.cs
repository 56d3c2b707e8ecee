using System.Globalization;
using System.Xml;
using System.Xml.Linq;

namespace Whitesky.Migration.Ovf;

/// <summary>
/// Reads OVF descriptors (DSP0243 1.x and 2.x) as VMware, VirtualBox and other tools write them. The XML is
/// parsed with DTDs prohibited, no resolver and a size cap; unknown sections are ignored unless marked
/// <c>ovf:required="true"</c>, which is refused; file names that would leave the package are refused.
/// </summary>
public static class OvfReader
{
    /// <summary>Reads a descriptor file.</summary>
    /// <exception cref="OvfException">The descriptor is malformed, hostile or uses something required that is not supported.</exception>
    public static async Task<OvfEnvelope> ReadAsync(string path, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 4096, FileOptions.Asynchronous);
        await using (stream.ConfigureAwait(false))
        {
            if (stream.Length > OvfConstants.MaxDescriptorBytes)
            {
                throw new OvfException(path, "descriptor", $"{stream.Length} bytes is more than the {OvfConstants.MaxDescriptorBytes} accepted");
            }

            var bytes = new byte[stream.Length];
            await stream.ReadExactlyAsync(bytes, cancellationToken).ConfigureAwait(false);
            return Parse(bytes, Path.GetFileName(path));
        }
    }

    /// <summary>Parses a descriptor held in memory; <paramref name="name"/> names it in errors.</summary>
    /// <exception cref="OvfException">The descriptor is malformed, hostile or uses something required that is not supported.</exception>
    public static OvfEnvelope Parse(ReadOnlyMemory<byte> descriptor, string name)
    {
        ArgumentException.ThrowIfNullOrEmpty(name);
        if (descriptor.Length > OvfConstants.MaxDescriptorBytes)
        {
            throw new OvfException(name, "descriptor", $"{descriptor.Length} bytes is more than the {OvfConstants.MaxDescriptorBytes} accepted");
        }

        var settings = new XmlReaderSettings
        {
            DtdProcessing = DtdProcessing.Prohibit,
            XmlResolver = null,
            MaxCharactersInDocument = OvfConstants.MaxDescriptorBytes,
            MaxCharactersFromEntities = 1024,
            IgnoreComments = true,
            IgnoreProcessingInstructions = true,
            Async = false,
        };
        XDocument document;
        try
        {
            using var stream = new MemoryStream(descriptor.ToArray(), writable: false);
            using var reader = XmlReader.Create(stream, settings);
            document = XDocument.Load(reader, LoadOptions.None);
        }
        catch (XmlException e) when (e.Message.Contains("DTD", StringComparison.OrdinalIgnoreCase))
        {
            throw new OvfException(name, $"line {e.LineNumber}", "the descriptor declares a DTD, which is refused (entity expansion and external entities are never processed)");
        }
        catch (XmlException e)
        {
            throw new OvfException(name, $"line {e.LineNumber}, column {e.LinePosition}", "not well-formed XML: " + e.Message);
        }

        return new Parser(name, document).Read();
    }

    private sealed class Parser(string name, XDocument document)
    {
        private readonly List<string> _ignored = [];
        private XNamespace _ovf = OvfConstants.OvfNamespace1;

        public OvfEnvelope Read()
        {
            var envelope = document.Root;
            if (envelope is null || envelope.Name.LocalName != "Envelope")
            {
                throw new OvfException(name, "root", $"expected an OVF Envelope, found <{envelope?.Name.LocalName}>");
            }

            var ns = envelope.Name.NamespaceName;
            int major;
            if (ns == OvfConstants.OvfNamespace1)
            {
                major = 1;
            }
            else if (ns == OvfConstants.OvfNamespace2)
            {
                major = 2;
            }
            else
            {
                throw new OvfException(name, "Envelope", $"the namespace '{ns}' is not an OVF 1.x or 2.x envelope namespace");
            }

            _ovf = ns;
            List<OvfFileReference> files = [];
            List<OvfDisk> disks = [];
            List<OvfVirtualSystem> systems = [];
            foreach (var section in envelope.Elements())
            {
                switch (KnownName(section))
                {
                    case "References":
                        files.AddRange(ReadReferences(section));
                        break;
                    case "DiskSection":
                        disks.AddRange(ReadDisks(section));
                        break;
                    case "VirtualSystem":
                        systems.Add(ReadVirtualSystem(section));
                        break;
                    case "VirtualSystemCollection":
                        systems.AddRange(section.Descendants(_ovf + "VirtualSystem").Select(ReadVirtualSystem));
                        break;
                    case "NetworkSection" or "DeploymentOptionSection" or "Info" or "Strings" or "Name":
                        break;
                    default:
                        Unknown(section, "Envelope");
                        break;
                }
            }

            if (systems.Count == 0)
            {
                throw new OvfException(name, "Envelope", "no VirtualSystem: the package describes no virtual machine");
            }

            var ids = new HashSet<string>(StringComparer.Ordinal);
            foreach (var file in files)
            {
                if (!ids.Add(file.Id))
                {
                    throw new OvfException(name, $"References/File[@id='{file.Id}']", "the id is used twice");
                }
            }

            foreach (var disk in disks)
            {
                if (disk.FileRef is { } fileRef && !ids.Contains(fileRef))
                {
                    throw new OvfException(name, $"DiskSection/Disk[@diskId='{disk.DiskId}']", $"fileRef '{fileRef}' names no File of the References section");
                }
            }

            return new OvfEnvelope
            {
                Files = files,
                Disks = disks,
                VirtualSystems = systems,
                OvfMajorVersion = major,
                IgnoredSections = _ignored,
            };
        }

        private string KnownName(XElement element) => element.Name.Namespace == _ovf ? element.Name.LocalName : "";

        private void Unknown(XElement section, string parent)
        {
            var where = $"{parent}/{section.Name.LocalName}";
            if (IsRequired(section, defaultValue: false, where))
            {
                throw new OvfException(name, where, $"the section is marked ovf:required=\"true\" and is not supported (namespace '{section.Name.NamespaceName}')");
            }

            _ignored.Add(where);
        }

        private bool IsRequired(XElement element, bool defaultValue, string where) =>
            element.Attribute(_ovf + "required")?.Value.Trim() switch
            {
                null => defaultValue,
                "true" or "1" => true,
                "false" or "0" => false,
                var other => throw new OvfException(name, $"{where}/{element.Name.LocalName}", $"ovf:required=\"{OvfUnits.Clip(other)}\" is not a boolean"),
            };

        private string? Attr(XElement element, string local) =>
            (element.Attribute(_ovf + local) ?? element.Attribute(local))?.Value;

        private IEnumerable<OvfFileReference> ReadReferences(XElement section)
        {
            var count = 0;
            foreach (var file in section.Elements())
            {
                if (KnownName(file) != "File")
                {
                    Unknown(file, "References");
                    continue;
                }

                if (++count > OvfConstants.MaxFiles)
                {
                    throw new OvfException(name, "References", $"more than {OvfConstants.MaxFiles} files");
                }

                var id = Attr(file, "id") ?? throw new OvfException(name, "References/File", "a File has no ovf:id");
                var href = Attr(file, "href") ?? throw new OvfException(name, $"References/File[@id='{id}']", "no ovf:href");
                var where = $"References/File[@id='{id}']";
                CheckPackagePath(href, name, where);
                var size = OptionalBytes(Attr(file, "size"), where + "/@size");
                var chunk = OptionalBytes(Attr(file, "chunkSize"), where + "/@chunkSize");
                if (chunk is 0)
                {
                    throw new OvfException(name, where, "ovf:chunkSize is zero");
                }

                if (chunk is not null && size is null)
                {
                    throw new OvfException(name, where, "a chunked file needs ovf:size to know its parts");
                }

                if (chunk is { } c && size is { } s && (s + c - 1) / c > OvfConstants.MaxFiles)
                {
                    throw new OvfException(name, where, $"{s} bytes in chunks of {c} makes more than {OvfConstants.MaxFiles} parts");
                }

                var compression = Attr(file, "compression");
                if (compression is not null && !string.Equals(compression, "gzip", StringComparison.OrdinalIgnoreCase) &&
                    !string.Equals(compression, "identity", StringComparison.OrdinalIgnoreCase))
                {
                    throw new OvfException(name, where, $"ovf:compression '{OvfUnits.Clip(compression)}' is not supported (gzip is)");
                }

                yield return new OvfFileReference(id, href, size, compression, chunk);
            }
        }

        private long? OptionalBytes(string? value, string where) =>
            value is null ? null : OvfUnits.ToBytes(value, null, 1, name, where);

        private IEnumerable<OvfDisk> ReadDisks(XElement section)
        {
            foreach (var disk in section.Elements())
            {
                if (KnownName(disk) != "Disk")
                {
                    if (KnownName(disk) != "Info")
                    {
                        Unknown(disk, "DiskSection");
                    }

                    continue;
                }

                var id = Attr(disk, "diskId") ?? throw new OvfException(name, "DiskSection/Disk", "a Disk has no ovf:diskId");
                var where = $"DiskSection/Disk[@diskId='{id}']";
                var capacity = Attr(disk, "capacity") ?? throw new OvfException(name, where, "no ovf:capacity");
                var bytes = OvfUnits.ToBytes(capacity, Attr(disk, "capacityAllocationUnits"), 1, name, where + "/@capacity");
                var populated = OptionalBytes(Attr(disk, "populatedSize"), where + "/@populatedSize");
                yield return new OvfDisk(id, Attr(disk, "fileRef"), bytes, populated, Attr(disk, "format"));
            }
        }

        private OvfVirtualSystem ReadVirtualSystem(XElement system)
        {
            var id = Attr(system, "id") ?? "VirtualSystem";
            string? displayName = null;
            string? annotation = null;
            OvfOperatingSystem? os = null;
            OvfHardware? hardware = null;
            var firmwareAttribute = FirmwareFromAttributes(system);
            List<string> vboxMacs = [];
            foreach (var section in system.Elements())
            {
                switch (KnownName(section))
                {
                    case "Name":
                        displayName = section.Value.Trim();
                        break;
                    case "OperatingSystemSection":
                        os = ReadOperatingSystem(section);
                        break;
                    case "VirtualHardwareSection":
                        // Some tools write one section per transport; the first describes the machine.
                        hardware ??= ReadHardware(section, id);
                        break;
                    case "AnnotationSection":
                        annotation = section.Element(_ovf + "Annotation")?.Value;
                        break;
                    case "Info" or "ProductSection" or "EulaSection" or "StartupSection" or "InstallSection" or "ResourceAllocationSection":
                        break;
                    default:
                        if (section.Name.NamespaceName == OvfConstants.VirtualBoxNamespace && section.Name.LocalName == "Machine")
                        {
                            firmwareAttribute ??= VirtualBoxFirmware(section);
                            vboxMacs.AddRange(VirtualBoxMacs(section));
                            break;
                        }

                        Unknown(section, $"VirtualSystem[@id='{id}']");
                        break;
                }
            }

            hardware ??= new OvfHardware();
            if (hardware.Firmware == OvfFirmware.Unspecified && firmwareAttribute is { } firmware)
            {
                hardware = hardware with { Firmware = firmware };
            }

            if (vboxMacs.Count > 0 && hardware.NetworkAdapters.All(n => n.MacAddress is null))
            {
                // VirtualBox keeps MACs in its own machine section, one enabled adapter per rasd item, in slot order.
                hardware = hardware with
                {
                    NetworkAdapters = [.. hardware.NetworkAdapters.Select((n, i) => i < vboxMacs.Count ? n with { MacAddress = NormalizeMac(vboxMacs[i]) } : n)],
                };
            }

            return new OvfVirtualSystem
            {
                Id = id,
                Name = string.IsNullOrEmpty(displayName) ? id : displayName,
                Annotation = annotation,
                OperatingSystem = os ?? OvfOperatingSystemMap.Map(null, null, null),
                Hardware = hardware,
            };
        }

        private static OvfFirmware? FirmwareFromAttributes(XElement element)
        {
            var value = element.Attributes().FirstOrDefault(a => a.Name.LocalName.Equals("firmware", StringComparison.OrdinalIgnoreCase))?.Value;
            return ParseFirmware(value);
        }

        private static OvfFirmware? ParseFirmware(string? value) => value?.Trim().ToUpperInvariant() switch
        {
            "EFI" or "UEFI" or "EFI64" or "EFI32" => OvfFirmware.Efi,
            "BIOS" => OvfFirmware.Bios,
            _ => null,
        };

        private static OvfFirmware? VirtualBoxFirmware(XElement machine)
        {
            var firmware = machine.Descendants().FirstOrDefault(e => e.Name.LocalName == "Firmware");
            return firmware is null ? OvfFirmware.Bios : ParseFirmware(firmware.Attribute("type")?.Value) ?? OvfFirmware.Bios;
        }

        private static IEnumerable<string> VirtualBoxMacs(XElement machine) =>
            machine.Descendants().Where(e => e.Name.LocalName == "Adapter" && (string?)e.Attribute("enabled") == "true" && e.Attribute("MACAddress") is not null)
                .OrderBy(e => int.TryParse((string?)e.Attribute("slot"), NumberStyles.None, CultureInfo.InvariantCulture, out var slot) ? slot : int.MaxValue)
                .Select(e => (string)e.Attribute("MACAddress")!);

        private OvfOperatingSystem ReadOperatingSystem(XElement section)
        {
            int? cim = int.TryParse(Attr(section, "id"), NumberStyles.None, CultureInfo.InvariantCulture, out var code) ? code : null;
            var vendor = section.Attribute(XName.Get("osType", OvfConstants.VmwareNamespace))?.Value
                ?? section.Elements().FirstOrDefault(e => e.Name.NamespaceName == OvfConstants.VirtualBoxNamespace && e.Name.LocalName == "OSType")?.Value;
            var description = section.Element(_ovf + "Description")?.Value.Trim();
            return OvfOperatingSystemMap.Map(cim, vendor?.Trim(), description);
        }

        private OvfHardware ReadHardware(XElement section, string systemId)
        {
            var where = $"VirtualSystem[@id='{systemId}']/VirtualHardwareSection";
            var firmware = FirmwareFromAttributes(section);
            List<string> systemTypes = [];
            List<Item> items = [];
            foreach (var child in section.Elements())
            {
                var local = child.Name.LocalName;
                if (child.Name.Namespace == _ovf && local is "Item" or "StorageItem" or "EthernetPortItem")
                {
                    if (items.Count >= OvfConstants.MaxItems)
                    {
                        throw new OvfException(name, where, $"more than {OvfConstants.MaxItems} hardware items");
                    }

                    items.Add(ReadItem(child, where));
                }
                else if (child.Name.Namespace == _ovf && local == "System")
                {
                    systemTypes.AddRange(child.Elements().Where(e => e.Name.LocalName == "VirtualSystemType")
                        .SelectMany(e => e.Value.Split([' ', ','], StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)));
                }
                else if (child.Name.NamespaceName == OvfConstants.VmwareNamespace && local is "Config" or "ExtraConfig")
                {
                    var key = child.Attribute(XName.Get("key", OvfConstants.VmwareNamespace))?.Value;
                    if (key == "firmware")
                    {
                        firmware = ParseFirmware(child.Attribute(XName.Get("value", OvfConstants.VmwareNamespace))?.Value) ?? firmware;
                    }
                }
                else if (child.Name.Namespace == _ovf && local == "Info")
                {
                }
                else
                {
                    Unknown(child, where);
                }
            }

            return BuildHardware(items, systemTypes, firmware ?? OvfFirmware.Unspecified, where);
        }

        private Item ReadItem(XElement item, string where)
        {
            var fields = new Dictionary<string, string>(StringComparer.Ordinal);
            List<string> hostResources = [];
            foreach (var field in item.Elements())
            {
                if (field.Name.LocalName == "HostResource")
                {
                    hostResources.Add(field.Value.Trim());
                }
                else
                {
                    fields.TryAdd(field.Name.LocalName, field.Value.Trim());
                }
            }

            var required = IsRequired(item, defaultValue: true, where);
            var instance = fields.GetValueOrDefault("InstanceID") ?? fields.GetValueOrDefault("InstanceId") ?? "";
            if (!fields.TryGetValue("ResourceType", out var typeText) ||
                !int.TryParse(typeText, NumberStyles.None, CultureInfo.InvariantCulture, out var type))
            {
                throw new OvfException(name, $"{where}/Item[InstanceID='{instance}']", $"ResourceType '{OvfUnits.Clip(typeText)}' is missing or not a number");
            }

            var vmwCores = item.Elements().FirstOrDefault(e => e.Name.NamespaceName == OvfConstants.VmwareNamespace && e.Name.LocalName == "CoresPerSocket")?.Value;
            return new Item(instance, type, fields, hostResources, required, vmwCores);
        }

        private OvfHardware BuildHardware(List<Item> items, List<string> systemTypes, OvfFirmware firmware, string where)
        {
            int? cpus = null;
            int? cores = null;
            long? memory = null;
            List<OvfController> controllers = [];
            List<(Item Item, OvfDiskDrive Drive)> disks = [];
            List<OvfNetworkAdapter> nics = [];
            List<OvfRemovableDrive> removable = [];
            List<OvfOtherDevice> others = [];
            foreach (var item in items)
            {
                var itemWhere = $"{where}/Item[InstanceID='{item.InstanceId}']";
                switch (item.ResourceType)
                {
                    case OvfConstants.ResourceProcessor:
                        var quantity = item.Get("VirtualQuantity") ?? throw new OvfException(name, itemWhere, "a processor item has no VirtualQuantity");
                        if (!int.TryParse(quantity, NumberStyles.None, CultureInfo.InvariantCulture, out var n) || n is <= 0 or > 4096)
                        {
                            throw new OvfException(name, itemWhere, $"'{OvfUnits.Clip(quantity)}' virtual CPUs is not a number in 1..4096");
                        }

                        cpus = n;
                        if (int.TryParse(item.VmwareCoresPerSocket, NumberStyles.None, CultureInfo.InvariantCulture, out var c) && c > 0)
                        {
                            cores = c;
                        }

                        break;
                    case OvfConstants.ResourceMemory:
                        var amount = item.Get("VirtualQuantity") ?? throw new OvfException(name, itemWhere, "a memory item has no VirtualQuantity");
                        memory = OvfUnits.ToBytes(amount, item.Get("AllocationUnits"), 1L << 20, name, itemWhere + "/VirtualQuantity");
                        break;
                    case OvfConstants.ResourceIdeController:
                        controllers.Add(new OvfController(item.InstanceId, OvfControllerKind.Ide, item.Get("ResourceSubType"), item.Get("Address")));
                        break;
                    case OvfConstants.ResourceParallelScsiHba:
                        controllers.Add(new OvfController(item.InstanceId, OvfControllerKind.Scsi, item.Get("ResourceSubType"), item.Get("Address")));
                        break;
                    case OvfConstants.ResourceOtherStorageDevice:
                        controllers.Add(new OvfController(item.InstanceId, StorageKind(item.Get("ResourceSubType"), item.Get("ElementName")), item.Get("ResourceSubType"), item.Get("Address")));
                        break;
                    case OvfConstants.ResourceDiskDrive:
                        var diskId = item.HostResources.Select(h => Reference(h, OvfConstants.DiskReferencePrefix)).FirstOrDefault(d => d is not null);
                        int? unit = int.TryParse(item.Get("AddressOnParent"), NumberStyles.None, CultureInfo.InvariantCulture, out var u) ? u : null;
                        disks.Add((item, new OvfDiskDrive(item.InstanceId, item.Get("ElementName") ?? item.Get("Caption"), diskId, item.Get("Parent"), OvfControllerKind.Other, unit)));
                        break;
                    case OvfConstants.ResourceEthernetAdapter:
                        nics.Add(new OvfNetworkAdapter(item.InstanceId, item.Get("ResourceSubType"), NormalizeMac(item.Get("Address")), item.Get("Connection")));
                        break;
                    case OvfConstants.ResourceCdDrive or OvfConstants.ResourceDvdDrive:
                        removable.Add(new OvfRemovableDrive(item.InstanceId, OvfRemovableDriveKind.CdDvd, item.HostResources.FirstOrDefault(h => h.Length > 0), item.Get("Parent")));
                        break;
                    case OvfConstants.ResourceFloppyDrive:
                        removable.Add(new OvfRemovableDrive(item.InstanceId, OvfRemovableDriveKind.Floppy, item.HostResources.FirstOrDefault(h => h.Length > 0), item.Get("Parent")));
                        break;
                    default:
                        others.Add(new OvfOtherDevice(item.InstanceId, item.ResourceType, item.Get("ElementName") ?? item.Get("Caption"), item.Required));
                        break;
                }
            }

            var byId = controllers.ToDictionary(c => c.InstanceId, StringComparer.Ordinal);
            var drives = disks
                .Select(d => d.Drive with { ControllerKind = d.Drive.ControllerId is { } p && byId.TryGetValue(p, out var ctl) ? ctl.Kind : OvfControllerKind.Other })
                .ToList();
            return new OvfHardware
            {
                Cpus = cpus,
                CoresPerSocket = cores,
                MemoryBytes = memory,
                Firmware = firmware,
                VirtualSystemTypes = systemTypes,
                Controllers = controllers,
                DiskDrives = drives,
                NetworkAdapters = nics,
                RemovableDrives = removable,
                OtherDevices = others,
            };
        }

        private static OvfControllerKind StorageKind(string? subType, string? elementName)
        {
            var text = (subType + " " + elementName).ToUpperInvariant();
            if (text.Contains("NVME", StringComparison.Ordinal))
            {
                return OvfControllerKind.Nvme;
            }

            return text.Contains("AHCI", StringComparison.Ordinal) || text.Contains("SATA", StringComparison.Ordinal)
                ? OvfControllerKind.Sata
                : OvfControllerKind.Other;
        }

        private static string? Reference(string hostResource, string prefix)
        {
            if (hostResource.StartsWith(prefix, StringComparison.OrdinalIgnoreCase))
            {
                return hostResource[prefix.Length..];
            }

            // Some writers leave out the "ovf:" scheme ("/disk/vmdisk1").
            var bare = prefix[4..];
            return hostResource.StartsWith(bare, StringComparison.OrdinalIgnoreCase) ? hostResource[bare.Length..] : null;
        }

        private static string? NormalizeMac(string? address)
        {
            if (string.IsNullOrWhiteSpace(address))
            {
                return null;
            }

            var hex = new string([.. address.Where(Uri.IsHexDigit)]);
            if (hex.Length != 12 || address.Length > 17)
            {
                return address.Trim();
            }

            return string.Join(':', Enumerable.Range(0, 6).Select(i => hex.Substring(i * 2, 2))).ToLowerInvariant();
        }
    }

    /// <summary>
    /// Refuses names that would leave the package folder: absolute paths, drive letters, URIs with a
    /// scheme, backslashes, and any <c>..</c> segment.
    /// </summary>
    internal static void CheckPackagePath(string href, string file, string where)
    {
        if (href.Length == 0 || href.Length > 1024)
        {
            throw new OvfException(file, where, "the file name is empty or longer than 1024 characters");
        }

        if (href.Contains(':', StringComparison.Ordinal) || href.StartsWith('/') || href.Contains('\\', StringComparison.Ordinal) || href.Contains('\0', StringComparison.Ordinal))
        {
            throw new OvfException(file, where, $"'{OvfUnits.Clip(href)}' is not a plain relative file name inside the package (absolute paths, URLs and backslashes are refused)");
        }

        foreach (var segment in href.Split('/'))
        {
            if (segment is ".." or "." or "")
            {
                throw new OvfException(file, where, $"'{OvfUnits.Clip(href)}' has a '{segment}' path segment: names may not leave the package folder");
            }
        }
    }

    private sealed record Item(string InstanceId, int ResourceType, Dictionary<string, string> Fields, List<string> HostResources, bool Required, string? VmwareCoresPerSocket)
    {
        public string? Get(string field) => Fields.GetValueOrDefault(field);
    }
}
