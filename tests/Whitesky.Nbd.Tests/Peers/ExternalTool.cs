using System.Diagnostics;
using System.Text;

namespace Whitesky.Nbd.Tests.Peers;

/// <summary>Runs the real peer tools (qemu-img, nbdinfo, nbdcopy, ...). A missing tool fails the test, never skips it.</summary>
public static class ExternalTool
{
    public static string Require(string tool)
    {
        foreach (var dir in (Environment.GetEnvironmentVariable("PATH") ?? "/usr/bin:/bin").Split(':').Append("/usr/sbin").Append("/sbin"))
        {
            var path = Path.Combine(dir, tool);
            if (File.Exists(path))
            {
                return path;
            }
        }

        throw new InvalidOperationException($"The test peer '{tool}' is not installed. Run ./test.sh, which installs nbdkit, libnbd-bin, qemu-utils and nbd-server.");
    }

    /// <summary>Runs a tool to completion and returns its standard output; a non-zero exit fails with its stderr.</summary>
    public static async Task<string> RunAsync(string tool, IEnumerable<string> arguments, TimeSpan? timeout = null, IDictionary<string, string>? environment = null)
    {
        var (exitCode, stdout, stderr) = await TryRunAsync(tool, arguments, timeout, environment);
        if (exitCode != 0)
        {
            throw new InvalidOperationException($"{tool} {string.Join(' ', arguments)} exited with {exitCode}: {stderr}");
        }

        return stdout;
    }

    public static async Task<(int ExitCode, string StdOut, string StdErr)> TryRunAsync(string tool, IEnumerable<string> arguments, TimeSpan? timeout = null, IDictionary<string, string>? environment = null)
    {
        var info = new ProcessStartInfo(Require(tool))
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var argument in arguments)
        {
            info.ArgumentList.Add(argument);
        }

        if (environment is not null)
        {
            foreach (var (key, value) in environment)
            {
                info.Environment[key] = value;
            }
        }

        using var process = Process.Start(info)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        using var cts = new CancellationTokenSource(timeout ?? TimeSpan.FromMinutes(2));
        try
        {
            await process.WaitForExitAsync(cts.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            throw new TimeoutException($"{tool} {string.Join(' ', arguments)} did not finish in time.");
        }

        return (process.ExitCode, await stdout, await stderr);
    }
}
