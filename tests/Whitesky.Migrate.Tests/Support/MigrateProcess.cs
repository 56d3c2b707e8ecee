using System.Diagnostics;
using Whitesky.Nbd.Tests.Peers;

namespace Whitesky.Migrate.Tests.Support;

/// <summary>Runs whitesky-migrate (the managed or the native build, <see cref="MigrateCli.StartInfo"/>) as a real process, a file written into its standard input through a pipe.</summary>
public static class MigrateProcess
{
    public static async Task<(int ExitCode, string StdErr)> RunWithStdinAsync(string input, params string[] args)
    {
        using var process = Process.Start(MigrateCli.StartInfo(args, redirectInput: true))!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        try
        {
            await using (var file = File.OpenRead(input))
            {
                await file.CopyToAsync(process.StandardInput.BaseStream);
            }

            process.StandardInput.Close();
        }
        catch (IOException)
        {
            // The process stopped reading (it refused the input); its exit code and error say why.
        }

        using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(1));
        await process.WaitForExitAsync(timeout.Token);
        await stdout;
        return (process.ExitCode, await stderr);
    }
}
