namespace Whitesky.DiskFormats.Vma;

/// <summary>
/// Constants of the Proxmox Virtual Machine Archive (pve-qemu <c>vma_spec.txt</c>, <c>vma.h</c>). Numbers are
/// big-endian except the 2-byte blob sizes, which the Proxmox tools write little-endian.
/// </summary>
internal static class VmaSpec
{
    /// <summary>"VMA\0".</summary>
    public const uint Magic = 0x564D4100;

    /// <summary>"VMAE".</summary>
    public const uint ExtentMagic = 0x564D4145;

    public const uint Version = 1;

    public const int BlockSize = 4096;

    public const int BlocksPerCluster = 16;

    public const int ClusterSize = BlockSize * BlocksPerCluster;

    public const int ClusterBits = 16;

    public const int ExtentHeaderSize = 512;

    /// <summary>Cluster entries (blockinfo) in an extent header.</summary>
    public const int BlocksPerExtent = 59;

    /// <summary>The largest extent: its header and 59 full clusters.</summary>
    public const int MaxExtentSize = ExtentHeaderSize + (ClusterSize * BlocksPerExtent);

    public const int MaxConfigs = 256;

    public const int MaxDevices = 256;

    /// <summary>The fixed part of the header, before the blob buffer (VmaHeader in vma.h).</summary>
    public const int FixedHeaderSize = 12288;

    /// <summary>A header larger than this is refused (the blob buffer holds a few small config files).</summary>
    public const int MaxHeaderSize = 16 * 1024 * 1024;

    /// <summary>The device name Proxmox reserves for the VM's RAM state.</summary>
    public const string VmStateDevice = "vmstate";

    // VmaHeader field offsets.
    public const int HeaderMagicOffset = 0;
    public const int HeaderVersionOffset = 4;
    public const int HeaderUuidOffset = 8;
    public const int HeaderCtimeOffset = 24;
    public const int HeaderMd5Offset = 32;
    public const int HeaderBlobBufferOffsetOffset = 48;
    public const int HeaderBlobBufferSizeOffset = 52;
    public const int HeaderSizeOffset = 56;
    public const int HeaderConfigNamesOffset = 2044;
    public const int HeaderConfigDataOffset = 3068;
    public const int HeaderDevInfoOffset = 4096;

    /// <summary>Size of a VmaDeviceInfoHeader: devname_ptr, reserved, size, reserved[2].</summary>
    public const int DevInfoSize = 32;

    // VmaExtentHeader field offsets.
    public const int ExtentMagicOffset = 0;
    public const int ExtentReservedOffset = 4;
    public const int ExtentBlockCountOffset = 6;
    public const int ExtentUuidOffset = 8;
    public const int ExtentMd5Offset = 24;
    public const int ExtentBlockInfoOffset = 40;

    public const int Md5Size = 16;

    public const int UuidSize = 16;
}
