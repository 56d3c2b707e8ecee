namespace Whitesky.Migration.Ovf;

/// <summary>The <c>VirtualHardwareSection</c> of a virtual system.</summary>
public sealed record OvfHardware
{
    /// <summary>Virtual CPUs, or null when no processor item is present.</summary>
    public int? Cpus { get; init; }

    /// <summary>Cores per socket (VMware's <c>vmw:CoresPerSocket</c>), when given.</summary>
    public int? CoresPerSocket { get; init; }

    /// <summary>Memory in bytes, or null when no memory item is present.</summary>
    public long? MemoryBytes { get; init; }

    /// <summary>Memory in MiB (rounded up), or null.</summary>
    public long? MemoryMiB => MemoryBytes is { } bytes ? (bytes + (1L << 20) - 1) >> 20 : null;

    /// <summary>The firmware (<c>vmw:Config firmware</c>, a <c>firmware</c> attribute, or VirtualBox's <c>Firmware</c>).</summary>
    public OvfFirmware Firmware { get; init; }

    /// <summary>The <c>vssd:VirtualSystemType</c> values (<c>vmx-19</c>, <c>virtualbox-2.2</c>, ...).</summary>
    public IReadOnlyList<string> VirtualSystemTypes { get; init; } = [];

    /// <summary>Disk controllers.</summary>
    public IReadOnlyList<OvfController> Controllers { get; init; } = [];

    /// <summary>Hard disks.</summary>
    public IReadOnlyList<OvfDiskDrive> DiskDrives { get; init; } = [];

    /// <summary>Network adapters.</summary>
    public IReadOnlyList<OvfNetworkAdapter> NetworkAdapters { get; init; } = [];

    /// <summary>CD/DVD and floppy drives.</summary>
    public IReadOnlyList<OvfRemovableDrive> RemovableDrives { get; init; } = [];

    /// <summary>Items of other resource types (USB, sound, video, serial, HBAs), as "type (name)".</summary>
    public IReadOnlyList<OvfOtherDevice> OtherDevices { get; init; } = [];
}
