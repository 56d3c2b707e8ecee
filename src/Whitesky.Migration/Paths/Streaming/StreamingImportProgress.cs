using Whitesky.Migration.Transfer;

namespace Whitesky.Migration.Paths.Streaming;

/// <summary>What a disk of a <see cref="StreamingDiskImport"/> is doing.</summary>
public enum StreamingImportPhase
{
    /// <summary>Opening the image and reading its partition table.</summary>
    Inspecting,

    /// <summary>Creating the whitesky disk (or finding the one to continue into).</summary>
    CreatingDisk,

    /// <summary>Exposing the disk over NBD and connecting to it.</summary>
    Exposing,

    /// <summary>Copying the image's data (see <see cref="StreamingImportProgress.Transfer"/>).</summary>
    Transferring,

    /// <summary>Moving the GPT backup header to the end of the disk.</summary>
    RelocatingGpt,

    /// <summary>Ending the NBD exposure.</summary>
    Unexposing,

    /// <summary>Creating the VM or attaching the disks to one.</summary>
    AttachingToVm,

    /// <summary>Done.</summary>
    Completed,
}

/// <summary>A snapshot of a <see cref="StreamingDiskImport"/>: one disk's phase, and the engine's progress while it copies.</summary>
public sealed record StreamingImportProgress
{
    /// <summary>The disk's position in <see cref="StreamingImportOptions.Disks"/> (0 for the VM step).</summary>
    public required int DiskIndex { get; init; }

    /// <summary>The image.</summary>
    public required string ImagePath { get; init; }

    /// <summary>What the disk is doing.</summary>
    public required StreamingImportPhase Phase { get; init; }

    /// <summary>The whitesky disk, once known.</summary>
    public long? DiskId { get; init; }

    /// <summary>The transfer engine's progress during <see cref="StreamingImportPhase.Transferring"/>; null otherwise.</summary>
    public TransferProgress? Transfer { get; init; }
}
