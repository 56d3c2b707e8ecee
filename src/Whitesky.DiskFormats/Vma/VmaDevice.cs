namespace Whitesky.DiskFormats.Vma;

/// <summary>A disk (or the RAM state, named <c>vmstate</c>) stored in a VMA archive.</summary>
/// <param name="Id">The device's dev_id in the archive (1 to 255): the index of its entry in the header's device table.</param>
/// <param name="Name">The device's name as Proxmox wrote it (for example <c>drive-scsi0</c>).</param>
/// <param name="Size">Size of the device in bytes.</param>
public sealed record VmaDevice(int Id, string Name, long Size);
