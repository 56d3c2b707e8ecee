namespace Whitesky.Migration.Ovf;

/// <summary>The firmware a virtual system boots with.</summary>
public enum OvfFirmware
{
    /// <summary>The descriptor does not say (VMware's default is BIOS).</summary>
    Unspecified,

    /// <summary>Legacy BIOS.</summary>
    Bios,

    /// <summary>UEFI.</summary>
    Efi,
}
