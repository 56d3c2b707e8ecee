namespace Whitesky.Migration.Ovf;

/// <summary>A <c>VirtualSystem</c>: one virtual machine.</summary>
public sealed record OvfVirtualSystem
{
    /// <summary>The <c>ovf:id</c>.</summary>
    public required string Id { get; init; }

    /// <summary>The <c>Name</c>, or the id when there is none.</summary>
    public required string Name { get; init; }

    /// <summary>The <c>AnnotationSection</c> text, or null.</summary>
    public string? Annotation { get; init; }

    /// <summary>The guest operating system and its whitesky mapping.</summary>
    public required OvfOperatingSystem OperatingSystem { get; init; }

    /// <summary>The virtual hardware.</summary>
    public required OvfHardware Hardware { get; init; }
}
