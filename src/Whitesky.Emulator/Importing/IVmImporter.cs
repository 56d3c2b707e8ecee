namespace Whitesky.Emulator.Importing;

/// <summary>
/// Imports a VM for <c>import-vm-s3</c>: fetches the object the request names, decodes its disks into disks of the
/// emulator (through <see cref="IVmImportTarget"/>) and returns them. The built-in one is <see cref="S3OvfVmImporter"/>. The emulator answers the call with the new
/// VM's id at once; the VM's status is <c>IMPORTING</c> (or what <see cref="IVmImportTarget.ReportStatus"/> says)
/// until the import ends, then <c>RUNNING</c> or <c>ERROR</c>.
/// </summary>
public interface IVmImporter
{
    /// <summary>Imports the VM. Throwing marks the VM <c>ERROR</c>.</summary>
    /// <returns>The disks made, boot disk first.</returns>
    Task<IReadOnlyList<int>> ImportAsync(VmImportRequest request, IVmImportTarget target, CancellationToken cancellationToken);
}

/// <summary>What an importer may do in the emulator.</summary>
public interface IVmImportTarget
{
    /// <summary>The new VM's id.</summary>
    int VmId { get; }

    /// <summary>An empty folder for the importer's downloads, removed by the emulator when the import ends.</summary>
    string ScratchDirectory { get; }

    /// <summary>Creates an empty (sparse) disk of <paramref name="sizeGb"/> GiB and returns its id and file.</summary>
    Task<EmulatorDiskFile> CreateDiskAsync(string name, int sizeGb, CancellationToken cancellationToken);

    /// <summary>Sets the VM's status while the import runs (e.g. <c>IMPORTING 40%</c>).</summary>
    void ReportStatus(string status);
}

/// <summary>A disk of the emulator and the sparse file that holds it.</summary>
/// <param name="DiskId">The disk's id.</param>
/// <param name="Path">The file.</param>
public sealed record EmulatorDiskFile(int DiskId, string Path);

/// <summary>The body of an <c>import-vm-s3</c> call (<c>ImportVmS3ArgsModel</c>). The S3 secret never appears in <see cref="ToString"/>.</summary>
public sealed class VmImportRequest
{
    /// <summary>S3 endpoint URL.</summary>
    public required string Link { get; init; }

    /// <summary>S3 access key.</summary>
    public required string Key { get; init; }

    /// <summary>S3 secret key.</summary>
    public required string Secret { get; init; }

    /// <summary>S3 region.</summary>
    public required string Region { get; init; }

    /// <summary>Bucket.</summary>
    public required string Bucket { get; init; }

    /// <summary>Object (an OVA or OVF).</summary>
    public required string ObjectName { get; init; }

    /// <summary>VM name.</summary>
    public required string Name { get; init; }

    /// <summary>VM description.</summary>
    public required string Description { get; init; }

    /// <summary>Virtual CPUs.</summary>
    public required int Vcpus { get; init; }

    /// <summary>Memory in MiB.</summary>
    public required int Memory { get; init; }

    /// <summary><c>bios</c>, <c>uefi</c> or <c>uefi-secure-boot</c>.</summary>
    public required string BootType { get; init; }

    /// <summary>Operating system family.</summary>
    public required string OsType { get; init; }

    /// <summary>Operating system name.</summary>
    public required string OsName { get; init; }

    /// <summary>Private IP address, when asked for.</summary>
    public string? PrivateIp { get; init; }

    /// <summary>Fail on anything the import cannot honour exactly.</summary>
    public bool Strict { get; init; }

    /// <summary>URL to call when done.</summary>
    public string? CallbackUrl { get; init; }

    /// <summary>Describes the request without its credentials.</summary>
    public override string ToString() => $"import of s3://{Bucket}/{ObjectName} as VM '{Name}'";
}
