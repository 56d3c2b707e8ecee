using Whitesky.Migration.Guest;
using Whitesky.Migration.Transfer;

namespace Whitesky.Migration.Paths.Streaming;

/// <summary>What a finished <see cref="StreamingDiskImport"/> did.</summary>
public sealed record StreamingImportResult
{
    /// <summary>The imported disks, in the order of <see cref="StreamingImportOptions.Disks"/>.</summary>
    public required IReadOnlyList<ImportedDisk> Disks { get; init; }

    /// <summary>The VM the disks were attached to or created with; null when neither was asked.</summary>
    public long? VmId { get; init; }

    /// <summary>Whether the import created the VM.</summary>
    public bool VmCreated { get; init; }

    /// <summary>The boot type the VM was created with (null when no VM was created).</summary>
    public string? BootType { get; init; }

    /// <summary>Wall time of the whole import.</summary>
    public required TimeSpan Duration { get; init; }
}

/// <summary>One image imported into one whitesky disk.</summary>
/// <param name="ImagePath">The image.</param>
/// <param name="Format">The image's format.</param>
/// <param name="ImageBytes">The image's virtual size in bytes.</param>
/// <param name="DiskId">The whitesky disk.</param>
/// <param name="DiskSizeGb">The disk's size in GB (GiB: the image's size rounded up).</param>
/// <param name="Created">Whether this import created the disk (false when it continued into an existing one).</param>
/// <param name="Layout">The image's partition table and the boot mode it implies.</param>
/// <param name="Transfer">What the transfer engine did (bytes written, skipped, resumed, rates).</param>
/// <param name="GptRelocation">What the GPT backup relocation did; null when it was not attempted.</param>
public sealed record ImportedDisk(
    string ImagePath,
    string Format,
    long ImageBytes,
    long DiskId,
    long DiskSizeGb,
    bool Created,
    GuestDiskLayout Layout,
    TransferSummary Transfer,
    GptRelocationResult? GptRelocation);
