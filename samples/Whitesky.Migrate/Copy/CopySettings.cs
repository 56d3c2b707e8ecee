namespace Whitesky.Migrate.Copy;

/// <summary>What <c>copy</c> (and its older spelling <c>nbd copy</c>) was asked to do.</summary>
internal sealed record CopySettings
{
    public required string Source { get; init; }

    public required string Target { get; init; }

    /// <summary>The source's format when it must not be probed (<c>nbd copy</c> copies raw files).</summary>
    public string? SourceFormat { get; init; }

    /// <summary>Which disk of an archive (a tar or OVA entry name, a VMA device name or id); null: the first (or a VMA archive's only) one.</summary>
    public string? Disk { get; init; }

    public int Connections { get; init; }

    public int Requests { get; init; }

    public long? RequestSize { get; init; }

    public bool? TargetIsZero { get; init; }

    public bool Verify { get; init; }

    public string? Checkpoint { get; init; }

    public long? Bandwidth { get; init; }

    public bool Json { get; init; }

    public bool Flush { get; init; } = true;

    /// <summary>Progress: true forces it, null shows a bar when standard error is a terminal.</summary>
    public bool? Progress { get; init; }
}
