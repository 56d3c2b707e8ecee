using System.Diagnostics;
using System.Globalization;
using Whitesky.Migrate.Cli;
using Whitesky.Nbd.Tests.Peers;

namespace Whitesky.Migrate.Tests.Support;

/// <summary>
/// Runs the real whitesky-migrate command tree: in-process with captured standard output and error, or, when
/// <c>WHITESKY_MIGRATE_NATIVE</c> names the native-AOT executable (test.sh's second pass over these tests, after
/// eng/publish-cli.sh), as that executable in a process of its own, so that every test here also proves the shipped
/// native build.
/// </summary>
public static class MigrateCli
{
    public const string NativeVariable = "WHITESKY_MIGRATE_NATIVE";

    /// <summary>The native-AOT whitesky-migrate under test, or null to run the managed build.</summary>
    public static string? NativeExecutable { get; } = Environment.GetEnvironmentVariable(NativeVariable) is { Length: > 0 } path ? path : null;

    public static Task<CliResult> RunAsync(params string[] args) => RunAsync(args, CancellationToken.None);

    public static async Task<CliResult> RunAsync(string[] args, CancellationToken cancellationToken)
    {
        if (NativeExecutable is not null)
        {
            return await RunProcessAsync(args, cancellationToken);
        }

        using var stdout = new StringWriter();
        using var stderr = new StringWriter();
        var exitCode = await MigrateCommandLine.InvokeAsync(args, stdout, stderr, cancellationToken);
        return new CliResult(exitCode, stdout.ToString(), stderr.ToString());
    }

    /// <summary>
    /// How to start whitesky-migrate as a process with <paramref name="args"/>: the native executable when it is
    /// under test, else <c>dotnet whitesky-migrate.dll</c> of this build. Output is redirected; input when asked.
    /// </summary>
    public static ProcessStartInfo StartInfo(IEnumerable<string> args, bool redirectInput = false)
    {
        ProcessStartInfo info;
        if (NativeExecutable is { } native)
        {
            if (!File.Exists(native))
            {
                throw new FileNotFoundException(
                    $"{NativeVariable} names {native}, which does not exist: publish it with eng/publish-cli.sh (test.sh does).", native);
            }

            info = new ProcessStartInfo(native);
        }
        else
        {
            info = new ProcessStartInfo(ExternalTool.Require("dotnet"));
            info.ArgumentList.Add(Path.Combine(AppContext.BaseDirectory, "whitesky-migrate.dll"));
        }

        foreach (var argument in args)
        {
            info.ArgumentList.Add(argument);
        }

        info.RedirectStandardInput = redirectInput;
        info.RedirectStandardOutput = true;
        info.RedirectStandardError = true;
        info.UseShellExecute = false;
        return info;
    }

    /// <summary>Sends SIGINT (Ctrl-C) to a whitesky-migrate process, as a terminal would.</summary>
    public static async Task InterruptAsync(Process process)
    {
        using var kill = Process.Start(ExternalTool.Require("kill"), ["-INT", process.Id.ToString(CultureInfo.InvariantCulture)]);
        await kill.WaitForExitAsync();
        if (kill.ExitCode != 0)
        {
            throw new InvalidOperationException($"kill -INT {process.Id} exited {kill.ExitCode}");
        }
    }

    private static async Task<CliResult> RunProcessAsync(string[] args, CancellationToken cancellationToken)
    {
        using var process = Process.Start(StartInfo(args, redirectInput: true))!;
        process.StandardInput.Close();
        var stdout = process.StandardOutput.ReadToEndAsync(CancellationToken.None);
        var stderr = process.StandardError.ReadToEndAsync(CancellationToken.None);
        // Cancelling the in-process run is Ctrl-C for the process; a run that hangs is killed after the limit.
        await using (cancellationToken.Register(() => _ = InterruptAsync(process)))
        {
            using var limit = new CancellationTokenSource(TimeSpan.FromMinutes(3));
            try
            {
                await process.WaitForExitAsync(limit.Token);
            }
            catch (OperationCanceledException)
            {
                process.Kill(entireProcessTree: true);
                throw new TimeoutException($"whitesky-migrate {string.Join(' ', args)} did not exit within 3 minutes:\n{await stderr}");
            }
        }

        return new CliResult(process.ExitCode, await stdout, await stderr);
    }
}
