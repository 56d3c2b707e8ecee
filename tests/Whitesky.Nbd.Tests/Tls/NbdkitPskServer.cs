using System.Diagnostics;
using System.Net.Sockets;
using System.Text;

namespace Whitesky.Nbd.Tests.Tls;

/// <summary>
/// A real <c>nbdkit memory</c> server requiring TLS with a PSK file, on a Unix socket in a temporary
/// directory. <see cref="StartAsync"/> returns once the server accepts connections (it polls a connect;
/// no fixed sleeps); <see cref="DisposeAsync"/> kills it and removes the directory. A missing nbdkit
/// fails the test.
/// </summary>
internal sealed class NbdkitPskServer : IAsyncDisposable
{
    private readonly Process _process;
    private readonly DirectoryInfo _directory;
    private readonly ManualResetEventSlim _releaseParentThread;
    private readonly StringBuilder _stderr = new();

    private NbdkitPskServer(Process process, DirectoryInfo directory, string socketPath, ManualResetEventSlim releaseParentThread)
    {
        _process = process;
        _directory = directory;
        SocketPath = socketPath;
        _releaseParentThread = releaseParentThread;
    }

    /// <summary>The Unix socket the server listens on.</summary>
    public string SocketPath { get; }

    /// <summary>Whether nbdkit is still running (it must survive failed handshakes).</summary>
    public bool IsRunning => !_process.HasExited;

    /// <summary>What nbdkit printed on stderr so far (for assertion messages).</summary>
    public string StandardError
    {
        get
        {
            lock (_stderr)
            {
                return _stderr.ToString();
            }
        }
    }

    /// <summary>
    /// Starts <c>nbdkit memory SIZE --tls=require --tls-psk=FILE</c> with the given <c>identity:hexkey</c>
    /// users; <paramref name="gnutlsPriorityOverrides"/>, when given, becomes GnuTLS's system priority file
    /// (to restrict the versions nbdkit speaks).
    /// </summary>
    public static async Task<NbdkitPskServer> StartAsync(IEnumerable<(string Identity, string HexKey)> users,
        string size = "1M", string? gnutlsPriorityOverrides = null)
    {
        var directory = Directory.CreateTempSubdirectory("whitesky-tls-");
        var pskFile = Path.Combine(directory.FullName, "keys.psk");
        await File.WriteAllLinesAsync(pskFile, users.Select(u => $"{u.Identity}:{u.HexKey}"));
        var socketPath = Path.Combine(directory.FullName, "nbd.sock");

        var info = new ProcessStartInfo("nbdkit")
        {
            UseShellExecute = false,
            RedirectStandardError = true,
            RedirectStandardOutput = true,
        };
        foreach (var argument in new[] { "-f", "--unix", socketPath, "--tls=require", $"--tls-psk={pskFile}", "memory", size })
        {
            info.ArgumentList.Add(argument);
        }

        if (gnutlsPriorityOverrides is not null)
        {
            var configFile = Path.Combine(directory.FullName, "gnutls.config");
            await File.WriteAllTextAsync(configFile, gnutlsPriorityOverrides);
            info.Environment["GNUTLS_SYSTEM_PRIORITY_FILE"] = configFile;
        }

        // nbdkit -f sets PR_SET_PDEATHSIG(SIGTERM) even without --exit-with-parent, and that signal fires
        // when the *thread* that forked it ends. Pool threads come and go, so nbdkit is started from a
        // thread of its own that lives until the server is disposed.
        var release = new ManualResetEventSlim();
        var started = new TaskCompletionSource<Process>(TaskCreationOptions.RunContinuationsAsynchronously);
        var parent = new Thread(() =>
        {
            try
            {
                started.SetResult(Process.Start(info) ?? throw new InvalidOperationException("nbdkit did not start."));
            }
            catch (Exception e)
            {
                started.SetException(e);
                return;
            }

            release.Wait();
        })
        {
            IsBackground = true,
            Name = "nbdkit parent",
        };
        parent.Start();

        Process process;
        try
        {
            process = await started.Task;
        }
        catch (Exception e) when (e is System.ComponentModel.Win32Exception or InvalidOperationException)
        {
            release.Dispose();
            directory.Delete(recursive: true);
            throw new InvalidOperationException("nbdkit is required for the TLS-PSK interop tests and could not be started (install the nbdkit package).", e);
        }

        var server = new NbdkitPskServer(process, directory, socketPath, release);
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
        process.BeginErrorReadLine();
        process.BeginOutputReadLine();

        try
        {
            await server.WaitUntilListeningAsync(TimeSpan.FromSeconds(20));
        }
        catch
        {
            await server.DisposeAsync();
            throw;
        }

        return server;
    }

    /// <summary>Opens a new connection to the server.</summary>
    public async Task<NetworkStream> ConnectAsync(CancellationToken cancellationToken = default)
    {
        var socket = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        try
        {
            await socket.ConnectAsync(new UnixDomainSocketEndPoint(SocketPath), cancellationToken);
            return new NetworkStream(socket, ownsSocket: true);
        }
        catch
        {
            socket.Dispose();
            throw;
        }
    }

    private async Task WaitUntilListeningAsync(TimeSpan limit)
    {
        var clock = Stopwatch.StartNew();
        while (true)
        {
            if (_process.HasExited)
            {
                throw new InvalidOperationException($"nbdkit exited with {_process.ExitCode} before listening: {StandardError}");
            }

            if (File.Exists(SocketPath))
            {
                try
                {
                    await using var probe = await ConnectAsync();
                    return;
                }
                catch (SocketException)
                {
                    // Bound but not yet listening: poll again.
                }
            }

            if (clock.Elapsed > limit)
            {
                throw new TimeoutException($"nbdkit did not listen on {SocketPath} within {limit}: {StandardError}");
            }

            await Task.Delay(10);
        }
    }

    public async ValueTask DisposeAsync()
    {
        try
        {
            if (!_process.HasExited)
            {
                _process.Kill(entireProcessTree: true);
            }

            await _process.WaitForExitAsync();
        }
        finally
        {
            _releaseParentThread.Set();
            _process.Dispose();
            try
            {
                _directory.Delete(recursive: true);
            }
            catch (IOException)
            {
            }
        }
    }
}
