using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Text;

namespace Whitesky.Nbd.Tests.Peers;

/// <summary>
/// A real NBD server process (nbdkit, qemu-nbd, nbd-server) listening on a Unix socket or a loopback TCP
/// port. Start waits until the server accepts connections (by polling a connect, not by sleeping) and
/// Dispose kills it.
/// </summary>
public sealed class ServerProcess : IAsyncDisposable
{
    private readonly Process _process;
    private readonly StringBuilder _stderr = new();
    private readonly TempDirectory? _ownedDirectory;
    private ManualResetEventSlim? _releaseParentThread;

    private ServerProcess(Process process, NbdEndpoint endpoint, TempDirectory? ownedDirectory)
    {
        _process = process;
        Endpoint = endpoint;
        _ownedDirectory = ownedDirectory;
    }

    public NbdEndpoint Endpoint { get; }

    public int ProcessId => _process.Id;

    public bool HasExited => _process.HasExited;

    public string StdErr
    {
        get
        {
            lock (_stderr)
            {
                return _stderr.ToString();
            }
        }
    }

    /// <summary>The URI a client would use (plain, or TLS-PSK with a file and identity).</summary>
    public string Uri(string export = "", string? pskFile = null, string? identity = null) =>
        NbdUri.Format(Endpoint, export, tls: pskFile is not null, pskIdentity: identity, pskFile: pskFile);

    public NbdClientOptions Options(string export = "") => new() { Endpoint = Endpoint, ExportName = export };

    /// <summary>Starts nbdkit in the foreground. <paramref name="arguments"/> are the plugin, its parameters and filters (e.g. "memory", "64M").</summary>
    public static Task<ServerProcess> StartNbdkitAsync(bool unixSocket, params string[] arguments) =>
        StartNbdkitAsync(unixSocket, (IEnumerable<string>)arguments);

    public static async Task<ServerProcess> StartNbdkitAsync(bool unixSocket, IEnumerable<string> arguments,
        IReadOnlyDictionary<string, string>? environment = null)
    {
        // Not --exit-with-parent: see StartFromDedicatedThread.
        var all = new List<string> { "--foreground" };
        TempDirectory? dir = null;
        NbdEndpoint endpoint;
        if (unixSocket)
        {
            dir = new TempDirectory();
            var socket = dir.File("nbd.sock");
            all.AddRange(["--unix", socket]);
            endpoint = NbdEndpoint.Unix(socket);
        }
        else
        {
            var port = FreePort();
            all.AddRange(["--ipaddr", "127.0.0.1", "--port", port.ToString(System.Globalization.CultureInfo.InvariantCulture)]);
            endpoint = NbdEndpoint.Tcp("127.0.0.1", port);
        }

        // Filters (--filter=...) must precede the plugin; callers pass them first.
        all.AddRange(arguments);
        return await StartAsync("nbdkit", all, endpoint, dir, environment);
    }

    /// <summary>Starts qemu-nbd on a Unix socket for an image file.</summary>
    public static async Task<ServerProcess> StartQemuNbdAsync(string image, string format, params string[] extra)
    {
        var dir = new TempDirectory();
        var socket = dir.File("qemu.sock");
        var all = new List<string> { "--socket=" + socket, "--format=" + format, "--persistent", "--shared=8" };
        all.AddRange(extra);
        all.Add(image);
        return await StartAsync("qemu-nbd", all, NbdEndpoint.Unix(socket), dir);
    }

    public static async Task<ServerProcess> StartAsync(string tool, IEnumerable<string> arguments, NbdEndpoint endpoint, TempDirectory? ownedDirectory,
        IReadOnlyDictionary<string, string>? environment = null)
    {
        var info = new ProcessStartInfo(ExternalTool.Require(tool))
        {
            RedirectStandardError = true,
            RedirectStandardOutput = true,
            RedirectStandardInput = true,
            UseShellExecute = false,
        };
        foreach (var argument in arguments)
        {
            info.ArgumentList.Add(argument);
        }

        foreach (var (key, value) in environment ?? new Dictionary<string, string>())
        {
            info.Environment[key] = value;
        }

        var (process, parentThreadRelease) = StartFromDedicatedThread(info);
        var server = new ServerProcess(process, endpoint, ownedDirectory) { _releaseParentThread = parentThreadRelease };
        process.ErrorDataReceived += (_, e) =>
        {
            if (e.Data is not null)
            {
                lock (server._stderr)
                {
                    server._stderr.AppendLine(e.Data);
                }
            }
        };
        process.OutputDataReceived += (_, _) => { };
        process.BeginErrorReadLine();
        process.BeginOutputReadLine();
        await server.WaitUntilListeningAsync(tool);
        return server;
    }

    private async Task WaitUntilListeningAsync(string tool)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(30);
        while (true)
        {
            if (_process.HasExited)
            {
                _process.WaitForExit(); // drains the redirected output
                throw new InvalidOperationException($"{tool} exited with {_process.ExitCode} before listening: {StdErr}");
            }

            try
            {
                using var socket = Endpoint is NbdUnixEndpoint unix
                    ? new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified)
                    : new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
                EndPoint target = Endpoint is NbdUnixEndpoint u
                    ? new UnixDomainSocketEndPoint(u.Path)
                    : new IPEndPoint(IPAddress.Loopback, ((NbdTcpEndpoint)Endpoint).Port);
                await socket.ConnectAsync(target);
                return;
            }
            catch (SocketException) when (DateTime.UtcNow < deadline)
            {
                // Not listening yet: wait for the process a little (or its exit) and poll again.
                await Task.WhenAny(_process.WaitForExitAsync(), Task.Delay(20));
            }
        }
    }

    /// <summary>Kills the server abruptly (a crash, from the client's point of view).</summary>
    public void Kill()
    {
        if (!_process.HasExited)
        {
            _process.Kill();
            _process.WaitForExit();
        }
    }

    /// <summary>
    /// nbdkit -f sets PR_SET_PDEATHSIG(SIGTERM) even without --exit-with-parent, and the kernel sends it when
    /// the *thread* that forked the server ends. Pool threads come and go, so the server is forked from a
    /// thread that lives until the server is disposed.
    /// </summary>
    private static (Process Process, ManualResetEventSlim Release) StartFromDedicatedThread(ProcessStartInfo info)
    {
        var release = new ManualResetEventSlim();
        Process? process = null;
        Exception? failure = null;
        using var started = new ManualResetEventSlim();
        var thread = new Thread(() =>
        {
            try
            {
                process = Process.Start(info) ?? throw new InvalidOperationException($"{info.FileName} did not start.");
            }
            catch (Exception ex)
            {
                failure = ex;
            }

            started.Set();
            if (failure is null)
            {
                release.Wait();
            }
        })
        {
            IsBackground = true,
            Name = "server parent " + System.IO.Path.GetFileName(info.FileName),
        };
        thread.Start();
        started.Wait();
        if (failure is not null)
        {
            release.Dispose();
            throw failure;
        }

        return (process!, release);
    }

    public static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    public ValueTask DisposeAsync()
    {
        Kill();
        _releaseParentThread?.Set();
        _process.Dispose();
        _ownedDirectory?.Dispose();
        return ValueTask.CompletedTask;
    }
}
