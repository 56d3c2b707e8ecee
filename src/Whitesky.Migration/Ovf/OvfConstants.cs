namespace Whitesky.Migration.Ovf;

/// <summary>Names and codes of DMTF DSP0243 (OVF 1.x/2.x), the CIM schemas it uses, and the vendor extensions we read.</summary>
internal static class OvfConstants
{
    public const string OvfNamespace1 = "http://schemas.dmtf.org/ovf/envelope/1";
    public const string OvfNamespace2 = "http://schemas.dmtf.org/ovf/envelope/2";
    public const string RasdNamespace = "http://schemas.dmtf.org/wbem/wscim/1/cim-schema/2/CIM_ResourceAllocationSettingData";
    public const string VssdNamespace = "http://schemas.dmtf.org/wbem/wscim/1/cim-schema/2/CIM_VirtualSystemSettingData";
    public const string VmwareNamespace = "http://www.vmware.com/schema/ovf";
    public const string VirtualBoxNamespace = "http://www.virtualbox.org/ovf/machine";

    /// <summary>DiskSection format URIs (the fragment names the VMDK variant).</summary>
    public const string VmdkFormatPrefix = "http://www.vmware.com/interfaces/specifications/vmdk.html";
    public const string VmdkFormatPrefixOld = "http://www.vmware.com/specifications/vmdk.html";
    public const string VmdkStreamOptimizedFormat = VmdkFormatPrefix + "#streamOptimized";
    public const string Qcow2FormatMarker = "qcow";

    /// <summary>ovf:/disk/ and ovf:/file/ references in rasd:HostResource.</summary>
    public const string DiskReferencePrefix = "ovf:/disk/";
    public const string FileReferencePrefix = "ovf:/file/";

    // CIM_ResourceAllocationSettingData.ResourceType values (DSP1041 / CIM 2.x).
    public const int ResourceOther = 1;
    public const int ResourceProcessor = 3;
    public const int ResourceMemory = 4;
    public const int ResourceIdeController = 5;
    public const int ResourceParallelScsiHba = 6;
    public const int ResourceFcHba = 7;
    public const int ResourceIscsiHba = 8;
    public const int ResourceIbHca = 9;
    public const int ResourceEthernetAdapter = 10;
    public const int ResourceFloppyDrive = 14;
    public const int ResourceCdDrive = 15;
    public const int ResourceDvdDrive = 16;
    public const int ResourceDiskDrive = 17;
    public const int ResourceOtherStorageDevice = 20;
    public const int ResourceUsbController = 23;

    // Limits that keep a hostile package from making us allocate or loop without bound.
    public const long MaxDescriptorBytes = 16L << 20;
    public const long MaxManifestBytes = 1L << 20;
    public const int MaxFiles = 4096;
    public const int MaxItems = 16384;
    public const int MaxArchiveEntries = 10_000;

    /// <summary>2^60 bytes: far above any disk or memory; larger values are refused, not wrapped.</summary>
    public const long MaxBytes = 1L << 60;
}
