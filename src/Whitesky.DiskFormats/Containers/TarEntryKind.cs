namespace Whitesky.DiskFormats.Containers;

/// <summary>What a tar entry is.</summary>
public enum TarEntryKind
{
    /// <summary>A regular file (its bytes follow the header).</summary>
    File,

    /// <summary>A regular file stored sparse (GNU old format): only the runs of its <see cref="TarEntry.SparseMap"/> are stored.</summary>
    SparseFile,

    /// <summary>A directory.</summary>
    Directory,

    /// <summary>A symbolic link (see <see cref="TarEntry.LinkName"/>).</summary>
    SymbolicLink,

    /// <summary>A hard link to an earlier entry (see <see cref="TarEntry.LinkName"/>).</summary>
    HardLink,

    /// <summary>A device, FIFO or other entry without content.</summary>
    Other,
}
