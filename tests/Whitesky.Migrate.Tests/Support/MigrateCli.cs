using Whitesky.Migrate.Cli;

namespace Whitesky.Migrate.Tests.Support;

/// <summary>Runs the real whitesky-migrate command tree in-process with captured standard output and error.</summary>
public static class MigrateCli
{
    public static Task<CliResult> RunAsync(params string[] args) => RunAsync(args, CancellationToken.None);

    public static async Task<CliResult> RunAsync(string[] args, CancellationToken cancellationToken)
    {
        using var stdout = new StringWriter();
        using var stderr = new StringWriter();
        var exitCode = await MigrateCommandLine.InvokeAsync(args, stdout, stderr, cancellationToken);
        return new CliResult(exitCode, stdout.ToString(), stderr.ToString());
    }
}
