namespace Whitesky.Migrate.Tests.Support;

/// <summary>What one run of the whitesky-migrate command line (in-process or the native executable) produced.</summary>
public sealed record CliResult(int ExitCode, string StdOut, string StdErr)
{
    public override string ToString() => $"exit {ExitCode}\n--- stdout ---\n{StdOut}\n--- stderr ---\n{StdErr}";
}
