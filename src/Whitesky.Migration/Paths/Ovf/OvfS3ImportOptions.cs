using Whitesky.Api.Models;
using Whitesky.Migration.Ovf;
using Whitesky.Migration.S3;

namespace Whitesky.Migration.Paths.Ovf;

/// <summary>What <see cref="OvfS3Import"/> imports, where it stages it, and the VM it asks for.</summary>
public sealed record OvfS3ImportOptions
{
    /// <summary>An <c>.ova</c>, an <c>.ovf</c> (its files beside it), or any disk image <c>DiskImage</c> opens (an OVA is built from it).</summary>
    public required string Source { get; init; }

    /// <summary>The S3-compatible store the package is staged in; whitesky downloads it from there (its <c>Endpoint</c> must be reachable by the platform).</summary>
    public required S3StorageOptions Storage { get; init; }

    /// <summary>The bucket.</summary>
    public required string Bucket { get; init; }

    /// <summary>The object name; default the package's file name (<c>web01.ova</c>).</summary>
    public string? ObjectName { get; init; }

    /// <summary>VM name; default the OVF's virtual system name (or the image's file name).</summary>
    public string? Name { get; init; }

    /// <summary>VM description; default "Imported from OBJECT".</summary>
    public string? Description { get; init; }

    /// <summary>Virtual CPUs; default the OVF's (2 when it has none).</summary>
    public int? Vcpus { get; init; }

    /// <summary>Memory in MiB; default the OVF's (2048 when it has none).</summary>
    public long? MemoryMiB { get; init; }

    /// <summary>Boot type; default from the OVF's firmware (EFI → <c>uefi</c>, otherwise <c>bios</c>), for an image from its partition table.</summary>
    public BootType? BootType { get; init; }

    /// <summary>OS type; default the OVF's operating system mapped to whitesky's.</summary>
    public OsType? OsType { get; init; }

    /// <summary>OS name; default the OVF's operating system mapped to whitesky's names.</summary>
    public OsName? OsName { get; init; }

    /// <summary>Private IP address for the VM, if a given one is wanted.</summary>
    public string? PrivateIp { get; init; }

    /// <summary>Asks the platform to import the VM as close as possible to the OVF's hardware.</summary>
    public bool Strict { get; init; }

    /// <summary>Multipart settings; set <see cref="S3UploadOptions.Resume"/> to continue an interrupted upload (from <see cref="OvfS3ImportException.Checkpoint"/>).</summary>
    public S3UploadOptions Upload { get; init; } = new();

    /// <summary>Validation settings (digest verification, manifest required).</summary>
    public OvfValidationOptions Validation { get; init; } = new();

    /// <summary>How long to wait for the import after <c>import-vm-s3</c> answered. Default 2 hours.</summary>
    public TimeSpan ImportTimeout { get; init; } = TimeSpan.FromHours(2);

    /// <summary>How often the VM's status is polled while it imports. Default 5 seconds.</summary>
    public TimeSpan PollInterval { get; init; } = TimeSpan.FromSeconds(5);

    /// <summary>Deletes the staged object once the VM is imported (kept on failure so the import can be retried).</summary>
    public bool DeleteObjectAfterImport { get; init; }

    /// <summary>Keeps a VM whose import failed, timed out or was cancelled (by default it is deleted with its disks).</summary>
    public bool KeepVmOnFailure { get; init; }

    /// <summary>Where an OVA built from an image or an OVF folder is written; default the system's temporary folder. It is removed after a successful upload.</summary>
    public string? WorkDirectory { get; init; }
}
