using System.CommandLine;

namespace Whitesky.Migrate.Cli;

/// <summary>The <c>whitesky-migrate</c> command tree and its entry point.</summary>
public static class MigrateCommandLine
{
    /// <summary>The name the tool is invoked by; errors are prefixed with it.</summary>
    public const string ToolName = "whitesky-migrate";

    /// <summary>Builds a fresh command tree (symbols are not shared between trees, so parallel invocations are safe).</summary>
    public static RootCommand Create()
    {
        var verbose = new Option<bool>("--verbose", "-v")
        {
            Description = "Log at Debug level and print stack traces with errors.",
            Recursive = true,
        };
        var root = new RootCommand("whitesky-migrate: the Whitesky SDK on the command line.");
        root.Options.Add(verbose);
        root.Subcommands.Add(NbdCommands.Create(verbose));
        root.Subcommands.Add(ServeCommand.Create(verbose));
        root.Subcommands.Add(CopyCommand.Create(verbose));
        root.Subcommands.Add(EmulatorCommand.Create(verbose));
        var import = Paths.ImportDiskCommand.CreateGroup(verbose);
        import.Subcommands.Add(ImportOvfCommand.Create(verbose));
        root.Subcommands.Add(import);
        root.Subcommands.Add(Paths.RecoveryBootCommand.Create(verbose));
        root.Subcommands.Add(ReplicateCommand.Create(verbose));
        root.Subcommands.Add(CutoverCommand.Create(verbose));
        foreach (var command in ImageCommands.Create(verbose))
        {
            root.Subcommands.Add(command);
        }
        return root;
    }

    /// <summary>Parses <paramref name="args"/> and runs the command they name.</summary>
    /// <param name="args">The command line, without the program name.</param>
    /// <param name="output">Where results go (default: standard output).</param>
    /// <param name="error">Where errors, progress and summaries go (default: standard error).</param>
    /// <param name="cancellationToken">Cancels the command as Ctrl-C does (exit code 130).</param>
    /// <returns>The process exit code: 0 on success, 1 on failure, 130 when cancelled.</returns>
    public static Task<int> InvokeAsync(IReadOnlyList<string> args, TextWriter? output = null, TextWriter? error = null, CancellationToken cancellationToken = default)
    {
        var configuration = new InvocationConfiguration
        {
            Output = output ?? Console.Out,
            Error = error ?? Console.Error,

            // Signals are the caller's to map onto cancellationToken (see TerminationSignals): System.CommandLine's
            // own handling would end the process before the copy has stopped its requests.
            ProcessTerminationTimeout = null,
        };
        return Create().Parse(args).InvokeAsync(configuration, cancellationToken);
    }
}
