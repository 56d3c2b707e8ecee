using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using Whitesky.Migration.S3;
using Whitesky.Nbd.Tests.Peers;

namespace Whitesky.Migration.Tests.S3;

/// <summary>
/// s3rver (npm) on 127.0.0.1 at a free port with a private data folder and one bucket; stopped and removed on
/// dispose. Installed by eng/install-peers.sh into .peers/node_modules; missing, the test fails.
/// </summary>
public sealed class S3rverProcess : IAsyncDisposable
{
    public const string Bucket = "imports";
    private readonly Process _process;
    private readonly TempDirectory _data;

    private S3rverProcess(Process process, TempDirectory data, int port)
    {
        _process = process;
        _data = data;
        Port = port;
    }

    public int Port { get; }

    public S3StorageOptions Storage => new()
    {
        Endpoint = new Uri($"http://127.0.0.1:{Port.ToString(CultureInfo.InvariantCulture)}"),
        AccessKey = "S3RVER",
        SecretKey = "S3RVER",
    };

    public static async Task<S3rverProcess> StartAsync()
    {
        var script = Path.Combine(RepoRoot(), ".peers", "node_modules", "s3rver", "bin", "s3rver.js");
        if (!File.Exists(script))
        {
            throw new InvalidOperationException($"The test peer s3rver is not installed ({script}). Run eng/install-peers.sh (./test.sh does).");
        }

        var node = ExternalTool.Require("node");
        var data = new TempDirectory();
        var port = FreePort();
        var info = new ProcessStartInfo(node) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var argument in new[] { script, "--directory", data.Path, "--address", "127.0.0.1", "--port", port.ToString(CultureInfo.InvariantCulture), "--silent", "--configure-bucket", Bucket })
        {
            info.ArgumentList.Add(argument);
        }

        var process = Process.Start(info)!;
        process.OutputDataReceived += (_, _) => { };
        process.ErrorDataReceived += (_, _) => { };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        var server = new S3rverProcess(process, data, port);
        try
        {
            await server.WaitReadyAsync();
            return server;
        }
        catch
        {
            await server.DisposeAsync();
            throw;
        }
    }

    public async ValueTask DisposeAsync()
    {
        if (!_process.HasExited)
        {
            _process.Kill(entireProcessTree: true);
            await _process.WaitForExitAsync();
        }

        _process.Dispose();
        _data.Dispose();
    }

    private async Task WaitReadyAsync()
    {
        // Ready when the bucket answers over HTTP (s3rver creates it before it listens).
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(2) };
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(30);
        while (true)
        {
            if (_process.HasExited)
            {
                throw new InvalidOperationException($"s3rver exited with {_process.ExitCode} before it listened");
            }

            try
            {
                using var response = await http.GetAsync(new Uri($"http://127.0.0.1:{Port}/"));
                return;
            }
            catch (HttpRequestException) when (DateTime.UtcNow < deadline)
            {
                await Task.Delay(50);
            }
        }
    }

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    private static string RepoRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "Whitesky.Sdk.sln")))
            {
                return dir.FullName;
            }
        }

        throw new InvalidOperationException("the repository root (Whitesky.Sdk.sln) is not above " + AppContext.BaseDirectory);
    }
}
