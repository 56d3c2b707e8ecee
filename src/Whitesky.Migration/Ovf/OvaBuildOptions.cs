using System.IO.Compression;

namespace Whitesky.Migration.Ovf;

/// <summary>What <see cref="OvaBuilder"/> puts in the descriptor of the OVA it builds.</summary>
public sealed record OvaBuildOptions
{
    /// <summary>The virtual machine's name (also the base of the file names in the package).</summary>
    public required string Name { get; init; }

    /// <summary>Virtual CPUs. Default 2.</summary>
    public int Cpus { get; init; } = 2;

    /// <summary>Memory in MiB. Default 2048.</summary>
    public long MemoryMiB { get; init; } = 2048;

    /// <summary>Firmware. Default BIOS.</summary>
    public OvfFirmware Firmware { get; init; } = OvfFirmware.Bios;

    /// <summary>whitesky <c>os_type</c> (<c>Linux</c>, <c>Windows</c>, ...). Default <c>Other</c>.</summary>
    public string OsType { get; init; } = OvfOperatingSystemMap.Other;

    /// <summary>whitesky <c>os_name</c>, written as the OS description. Default <c>Other - other</c>.</summary>
    public string OsName { get; init; } = "Other - other";

    /// <summary>Network adapters (VMXNET3 on "VM Network"). Default 1.</summary>
    public int NetworkAdapters { get; init; } = 1;

    /// <summary>Deflate effort for the VMDK grains. Default fastest.</summary>
    public CompressionLevel Compression { get; init; } = CompressionLevel.Fastest;

    /// <summary>
    /// Folder for the VMDKs while they are written (their sizes and digests must be known before the descriptor,
    /// which comes first in the archive). Default: the OVA's folder.
    /// </summary>
    public string? StagingDirectory { get; init; }
}
