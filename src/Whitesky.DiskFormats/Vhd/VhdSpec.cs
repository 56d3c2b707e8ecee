namespace Whitesky.DiskFormats.Vhd;

/// <summary>On-disk constants of the VHD format (Microsoft "Virtual Hard Disk Image Format Specification" 1.0). All integers are big-endian.</summary>
internal static class VhdSpec
{
    /// <summary>"conectix", the footer's cookie.</summary>
    public static ReadOnlySpan<byte> FooterCookie => "conectix"u8;

    /// <summary>"cxsparse", the dynamic disk header's cookie.</summary>
    public static ReadOnlySpan<byte> DynamicHeaderCookie => "cxsparse"u8;

    public const int FooterLength = 512;

    /// <summary>Footers written by some old Virtual PC versions lack the last (reserved) byte.</summary>
    public const int OldFooterLength = 511;

    public const int DynamicHeaderLength = 1024;
    public const int SectorSize = 512;

    public const int FooterDataOffset = 16;
    public const int FooterCreatorApplication = 28;
    public const int FooterCurrentSize = 48;
    public const int FooterDiskGeometry = 56;
    public const int FooterDiskType = 60;
    public const int FooterChecksum = 64;
    public const int FooterUniqueId = 68;

    public const int HeaderTableOffset = 16;
    public const int HeaderVersion = 24;
    public const int HeaderMaxTableEntries = 28;
    public const int HeaderBlockSize = 32;
    public const int HeaderChecksum = 36;
    public const int HeaderParentUniqueId = 40;
    public const int HeaderParentUnicodeName = 64;
    public const int HeaderParentLocators = 576;
    public const int ParentLocatorCount = 8;
    public const int ParentLocatorLength = 24;

    public const uint DiskTypeFixed = 2;
    public const uint DiskTypeDynamic = 3;
    public const uint DiskTypeDifferencing = 4;

    public const uint BatUnused = 0xFFFF_FFFF;

    /// <summary>Parent locator platform codes: Windows relative/absolute paths, UTF-16LE (W2ru/W2ku) or deprecated single-byte (Wi2r/Wi2k).</summary>
    public const uint PlatformW2ru = 0x57327275;
    public const uint PlatformW2ku = 0x57326B75;
    public const uint PlatformWi2r = 0x57693272;
    public const uint PlatformWi2k = 0x5769326B;

    /// <summary>Block sizes accepted: 512 bytes to 256 MiB, a power of two (Hyper-V and qemu write 2 MiB, Virtual PC 512 KiB).</summary>
    public const int MinBlockSize = 512;
    public const int MaxBlockSize = 256 << 20;

    /// <summary>A parent path longer than this is not a path (Windows' own limit is 32767 UTF-16 characters).</summary>
    public const int MaxLocatorBytes = 65536;

    /// <summary>One's complement of the byte sum, skipping the 4 checksum bytes at <paramref name="checksumOffset"/>.</summary>
    public static uint Checksum(ReadOnlySpan<byte> structure, int checksumOffset)
    {
        uint sum = 0;
        for (var i = 0; i < structure.Length; i++)
        {
            if (i < checksumOffset || i >= checksumOffset + 4)
            {
                sum += structure[i];
            }
        }

        return ~sum;
    }
}
