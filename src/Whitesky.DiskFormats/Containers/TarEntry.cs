namespace Whitesky.DiskFormats.Containers;

/// <summary>One entry of a tar archive, as its headers (ustar, pax, GNU long names and sparse maps) describe it.</summary>
public sealed record TarEntry
{
    /// <summary>The entry's path, checked: relative, without <c>..</c>, without a leading <c>./</c>.</summary>
    public required string Name { get; init; }

    /// <summary>What the entry is.</summary>
    public required TarEntryKind Kind { get; init; }

    /// <summary>The size of the file (for a sparse file, its full size including the holes).</summary>
    public required long Length { get; init; }

    /// <summary>The bytes stored in the archive for this entry (for a sparse file, the sum of its runs).</summary>
    public required long StoredLength { get; init; }

    /// <summary>Where the stored bytes start in the archive (after all headers of the entry).</summary>
    public required long DataOffset { get; init; }

    /// <summary>The target of a link, or null.</summary>
    public string? LinkName { get; init; }

    /// <summary>For a <see cref="TarEntryKind.SparseFile"/>, the stored runs in file order (their bytes follow each other in the archive); else null.</summary>
    public IReadOnlyList<TarSparseRun>? SparseMap { get; init; }

    /// <summary>Whether the entry carries content (a regular or sparse file).</summary>
    public bool IsFile => Kind is TarEntryKind.File or TarEntryKind.SparseFile;
}
