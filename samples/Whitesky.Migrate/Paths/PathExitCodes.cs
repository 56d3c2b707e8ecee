namespace Whitesky.Migrate.Paths;

/// <summary>Exit codes of the path commands, beyond 0 (success), 1 (bad arguments or an unexpected error) and 130 (cancelled, cleaned up).</summary>
internal static class PathExitCodes
{
    /// <summary>The platform refused a call (the message names the operation and status).</summary>
    public const int PlatformError = 3;

    /// <summary>The import failed; the message says at which step and what was cleaned up.</summary>
    public const int ImportFailed = 4;
}
