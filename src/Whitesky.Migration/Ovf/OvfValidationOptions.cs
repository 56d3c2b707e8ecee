namespace Whitesky.Migration.Ovf;

/// <summary>What <see cref="OvfPackage.ValidateAsync"/> checks.</summary>
public sealed record OvfValidationOptions
{
    /// <summary>Hash every file the manifest names and compare (reads all the data once). Default true.</summary>
    public bool VerifyDigests { get; init; } = true;

    /// <summary>A package without manifest is an error rather than a note. Default false.</summary>
    public bool RequireManifest { get; init; }
}
