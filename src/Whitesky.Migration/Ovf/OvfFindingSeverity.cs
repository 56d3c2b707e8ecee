namespace Whitesky.Migration.Ovf;

/// <summary>How much a validation finding matters.</summary>
public enum OvfFindingSeverity
{
    /// <summary>Worth knowing; changes nothing.</summary>
    Info,

    /// <summary>The import can go ahead, but something will differ from the source or is assumed.</summary>
    Warning,

    /// <summary>The package cannot be imported as it is.</summary>
    Error,
}
