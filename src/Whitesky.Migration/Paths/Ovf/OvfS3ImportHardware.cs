namespace Whitesky.Migration.Paths.Ovf;

/// <summary>The VM asked of <c>import-vm-s3</c>.</summary>
/// <param name="Name">VM name.</param>
/// <param name="Vcpus">Virtual CPUs.</param>
/// <param name="MemoryMiB">Memory in MiB.</param>
/// <param name="BootType"><c>bios</c>, <c>uefi</c> or <c>uefi-secure-boot</c>.</param>
/// <param name="OsType">whitesky OS type.</param>
/// <param name="OsName">whitesky OS name.</param>
public sealed record OvfS3ImportHardware(string Name, int Vcpus, long MemoryMiB, string BootType, string OsType, string OsName);
