using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;

namespace Whitesky.Emulator.Storage;

/// <summary>
/// s3rver (npm), an S3 emulator, as the emulator's object storage: started on 127.0.0.1 with its own data folder and
/// buckets, stopped on dispose. whitesky has its own S3 (objectspaces); with the emulator, packages for
/// <c>import-vm-s3</c> are staged here. Credentials are s3rver's fixed <c>S3RVER</c>/<c>S3RVER</c>.
/// </summary>
public sealed class S3rverServer : IAsyncDisposable
{
    /// <summary>The relative path where <c>eng/install-peers.sh</c> installs s3rver.</summary>
    public const string PeersScript = ".peers/node_modules/s3rver/bin/s3rver.js";

    /// <summary>How to install s3rver, for messages.</summary>
    public const string InstallHint = "install it with eng/install-peers.sh, or `npm install --prefix .peers s3rver@3.7.1` in the repository, or point WHITESKY_S3RVER at its bin/s3rver.js";

    private readonly Process _process;
    private readonly string _dataDirectory;
    private readonly bool _ownsData;
    private int _disposed;

    private S3rverServer(Process process, string dataDirectory, bool ownsData, int port, IReadOnlyList<string> buckets)
    {
        _process = process;
        _dataDirectory = dataDirectory;
        _ownsData = ownsData;
        Endpoint = new Uri(string.Create(CultureInfo.InvariantCulture, $"http://127.0.0.1:{port}"));
        Buckets = buckets;
    }

    /// <summary>The S3 endpoint (path-style).</summary>
    public Uri Endpoint { get; }

    /// <summary>The access key s3rver accepts.</summary>
    public string AccessKey => "S3RVER";

    /// <summary>The secret key s3rver accepts.</summary>
    public string SecretKey => "S3RVER";

    /// <summary>The buckets made at start.</summary>
    public IReadOnlyList<string> Buckets { get; }

    /// <summary>Finds s3rver's script (see <see cref="S3rverOptions.ScriptPath"/>), or null when it is not installed.</summary>
    public static string? FindScript()
    {
        if (Environment.GetEnvironmentVariable("WHITESKY_S3RVER") is { Length: > 0 } configured)
        {
            return File.Exists(configured) ? Path.GetFullPath(configured) : null;
        }

        foreach (var start in new[] { Environment.CurrentDirectory, AppContext.BaseDirectory })
        {
            for (var dir = new DirectoryInfo(start); dir is not null; dir = dir.Parent)
            {
                var candidate = Path.Combine(dir.FullName, PeersScript);
                if (File.Exists(candidate))
                {
                    return candidate;
                }
            }
        }

        return null;
    }

    /// <summary>Starts s3rver and returns once it answers.</summary>
    /// <exception cref="FileNotFoundException">s3rver (or node) is not installed; the message says how to install it.</exception>
    public static async Task<S3rverServer> StartAsync(S3rverOptions? options = null, CancellationToken cancellationToken = default)
    {
        options ??= new S3rverOptions();
        var script = options.ScriptPath ?? FindScript()
                     ?? throw new FileNotFoundException("s3rver is not installed: " + InstallHint, PeersScript);
        if (!File.Exists(script))
        {
            throw new FileNotFoundException($"s3rver's script {script} does not exist: " + InstallHint, script);
        }

        var ownsData = options.DataDirectory is null;
        var data = options.DataDirectory is { } given ? Directory.CreateDirectory(given).FullName : Directory.CreateTempSubdirectory("whitesky-s3rver-").FullName;
        var port = options.Port != 0 ? options.Port : FreePort();
        var info = new ProcessStartInfo(options.NodePath) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var argument in new[] { script, "--directory", data, "--address", "127.0.0.1", "--port", port.ToString(CultureInfo.InvariantCulture), "--silent" })
        {
            info.ArgumentList.Add(argument);
        }

        foreach (var bucket in options.Buckets)
        {
            info.ArgumentList.Add("--configure-bucket");
            info.ArgumentList.Add(bucket);
        }

        Process process;
        try
        {
            process = Process.Start(info) ?? throw new FileNotFoundException($"{options.NodePath} did not start", options.NodePath);
        }
        catch (System.ComponentModel.Win32Exception e)
        {
            throw new FileNotFoundException($"node ({options.NodePath}) is needed to run s3rver and did not start: {e.Message}", options.NodePath, e);
        }

        process.OutputDataReceived += (_, _) => { };
        process.ErrorDataReceived += (_, _) => { };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        var server = new S3rverServer(process, data, ownsData, port, [.. options.Buckets]);
        try
        {
            await server.WaitReadyAsync(cancellationToken).ConfigureAwait(false);
            return server;
        }
        catch
        {
            await server.DisposeAsync().ConfigureAwait(false);
            throw;
        }
    }

    /// <summary>Stops s3rver and removes its data folder if it made it.</summary>
    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }

        if (!_process.HasExited)
        {
            _process.Kill(entireProcessTree: true);
            await _process.WaitForExitAsync().ConfigureAwait(false);
        }

        _process.Dispose();
        if (_ownsData)
        {
            try
            {
                Directory.Delete(_dataDirectory, recursive: true);
            }
            catch (IOException)
            {
                // Under the temporary folder anyway.
            }
        }
    }

    /// <summary>Describes the server (the keys are s3rver's public defaults).</summary>
    public override string ToString() => $"s3rver at {Endpoint} (buckets: {string.Join(", ", Buckets)})";

    private async Task WaitReadyAsync(CancellationToken cancellationToken)
    {
        // Ready when it answers HTTP (s3rver makes the buckets before it listens).
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(2) };
        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        deadline.CancelAfter(TimeSpan.FromSeconds(30));
        while (true)
        {
            if (_process.HasExited)
            {
                throw new IOException($"s3rver exited with code {_process.ExitCode} before it listened on {Endpoint}");
            }

            try
            {
                using var response = await http.GetAsync(Endpoint, deadline.Token).ConfigureAwait(false);
                return;
            }
            catch (Exception e) when (e is HttpRequestException or TaskCanceledException && !deadline.IsCancellationRequested)
            {
                // Not listening yet, or (on a loaded machine) slower than one attempt's 2 s: try again until the deadline.
                await Task.Delay(50, deadline.Token).ConfigureAwait(false);
            }
        }
    }

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}
