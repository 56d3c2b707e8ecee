using System.CommandLine;
using Microsoft.Extensions.Logging;

namespace Whitesky.Migrate.Cli;

/// <summary>
/// Runs a command's body with logging set up and turns its outcome into an exit code: errors become
/// one line on standard error and exit code 1 (stack trace only with <c>--verbose</c>), cancellation
/// becomes exit code 130 as for a shell's Ctrl-C.
/// </summary>
internal static class CommandExecution
{
    public const int Success = 0;
    public const int Failure = 1;
    public const int Cancelled = 130;

    public static async Task<int> RunAsync(ParseResult parseResult, Option<bool> verbose, Func<CommandContext, CancellationToken, Task<int>> body, CancellationToken cancellationToken)
    {
        var isVerbose = parseResult.GetValue(verbose);
        var output = parseResult.InvocationConfiguration.Output;
        var error = parseResult.InvocationConfiguration.Error;
        using var loggerFactory = CreateLoggerFactory(isVerbose);
        try
        {
            return await body(new CommandContext(output, error, loggerFactory, isVerbose), cancellationToken);
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            await error.WriteLineAsync($"{MigrateCommandLine.ToolName}: cancelled");
            return Cancelled;
        }
        catch (Exception ex) when (ex is not OutOfMemoryException)
        {
            await error.WriteLineAsync($"{MigrateCommandLine.ToolName}: {ex.Message}");
            if (isVerbose)
            {
                await error.WriteLineAsync(ex.ToString());
            }

            return Failure;
        }
        finally
        {
            await output.FlushAsync(CancellationToken.None);
            await error.FlushAsync(CancellationToken.None);
        }
    }

    private static OnDemandConsoleLoggerFactory CreateLoggerFactory(bool verbose) =>
        new(verbose ? LogLevel.Debug : LogLevel.Warning, timestamps: verbose);
}
