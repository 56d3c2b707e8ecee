using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text;
using System.Text.Json;
using System.Text.RegularExpressions;
using Whitesky.Migrate.Cli;
using Whitesky.Migrate.Tests.Support;
using Whitesky.Nbd.Tests.Peers;

namespace Whitesky.Migrate.Tests;

/// <summary>
/// <c>serve</c> against real clients: nbdinfo reads what it prints, nbdcopy writes into it and reads back
/// (compared by SHA-256), a served file is checked on disk after the server stops (hash and allocation map),
/// and TLS-PSK is checked with libnbd's nbds:// URIs. Servers run in-process, or as a process where a real
/// signal or the console log matters.
/// </summary>
public sealed partial class ServeCommandTests
{
    private const string Identity = "alice";
    private static readonly TimeSpan StartTimeout = TimeSpan.FromSeconds(30);
    private static readonly TimeSpan StopTimeout = TimeSpan.FromSeconds(30);

    [Fact]
    public async Task Serve_memory_prints_one_uri_that_nbdinfo_reads_as_a_writable_disk_of_that_size()
    {
        await using var serve = await InProcessServe.StartAsync("serve", "--memory", "64M", "--port", "0");

        Assert.Matches(TcpUriPattern(), serve.Uri);
        using var info = JsonDocument.Parse(await ExternalTool.RunAsync("nbdinfo", ["--json", serve.Uri]));
        var export = info.RootElement.GetProperty("exports")[0];
        Assert.Equal(64L << 20, export.GetProperty("export-size").GetInt64());
        Assert.False(export.GetProperty("is_read_only").GetBoolean());
        Assert.True(export.GetProperty("can_multi_conn").GetBoolean());
        Assert.False(info.RootElement.GetProperty("TLS").GetBoolean());

        var result = await serve.StopAsync();
        Assert.True(result.ExitCode == 0, result.ToString());
        Assert.Equal([serve.Uri], Lines(result.StdOut));
        Assert.Equal(string.Empty, result.StdErr);
    }

    [Fact]
    public async Task Serve_on_a_unix_socket_with_an_export_name_prints_its_nbd_unix_uri_and_removes_the_socket_on_stop()
    {
        using var dir = new TempDirectory();
        var socket = dir.File("serve.sock");
        await using var serve = await InProcessServe.StartAsync("serve", "--memory", "1M", "--socket", socket, "--export", "disk 1");

        Assert.Equal($"nbd+unix:///disk%201?socket={Uri.EscapeDataString(socket)}", serve.Uri);
        using var info = JsonDocument.Parse(await ExternalTool.RunAsync("nbdinfo", ["--json", serve.Uri]));
        Assert.Equal("disk 1", info.RootElement.GetProperty("exports")[0].GetProperty("export-name").GetString());
        Assert.Equal(1L << 20, info.RootElement.GetProperty("exports")[0].GetProperty("export-size").GetInt64());
        var wrongExport = await ExternalTool.TryRunAsync("nbdinfo", [$"nbd+unix:///other?socket={socket}"]);
        Assert.NotEqual(0, wrongExport.ExitCode);

        var result = await serve.StopAsync();
        Assert.True(result.ExitCode == 0, result.ToString());
        Assert.False(File.Exists(socket), "the socket must be removed when the server stops");
    }

    [Fact]
    public async Task Nbdcopy_of_a_random_file_into_serve_memory_and_back_out_is_identical()
    {
        using var dir = new TempDirectory();
        var source = dir.File("random.raw");
        SparseImage.CreateRandom(source, 64L << 20, seed: 21);
        await using var serve = await InProcessServe.StartAsync("serve", "--memory", "64M", "--port", "0");

        await ExternalTool.RunAsync("nbdcopy", [source, serve.Uri]);

        Assert.Equal(await TargetImage.FileSha256Async(source), await TargetImage.Sha256Async(serve.Uri, dir));
        var result = await serve.StopAsync();
        Assert.True(result.ExitCode == 0, result.ToString());
    }

    [Fact]
    public async Task Serve_file_create_then_sigterm_leaves_exactly_the_copied_data_on_disk_with_its_holes()
    {
        using var dir = new TempDirectory();
        var source = dir.File("source.raw");
        var target = dir.File("target.raw");
        SparseImage.Create(source, 32L << 20,
            [(0, 1 << 20), ((5L << 20) + 777, 300_000), (12L << 20, 2 << 20), ((32L << 20) - 8192, 8192)], seed: 22);
        await using var serve = await ProcessServe.StartAsync("serve", "--file", target, "--create", "32M", "--port", "0");

        Assert.Equal(32L << 20, new FileInfo(target).Length);
        Assert.Equal(0, await AllocatedBytesAsync(target));
        await ExternalTool.RunAsync("nbdcopy", [source, serve.Uri]);
        var exitCode = await serve.TerminateAsync();

        Assert.True(exitCode == 0, $"exit {exitCode}: {serve.StdErr}");
        Assert.Equal(32L << 20, new FileInfo(target).Length);
        Assert.Equal(await TargetImage.FileSha256Async(source), await TargetImage.FileSha256Async(target));
        Assert.Equal(await DataExtentsAsync(source), await DataExtentsAsync(target));
        Assert.InRange(await AllocatedBytesAsync(target), (3L << 20) + 300_000, await AllocatedBytesAsync(source) + (256 << 10));
    }

    [Fact]
    public async Task Serve_file_serves_an_existing_image_and_what_nbdcopy_writes_is_in_the_file_after_stop()
    {
        using var dir = new TempDirectory();
        var image = dir.File("disk.raw");
        SparseImage.Create(image, 16L << 20, [(1L << 20, 2 << 20)], seed: 23);
        var replacement = dir.File("replacement.raw");
        SparseImage.Create(replacement, 16L << 20, [(0, 4096), (2L << 20, 1 << 20), (8L << 20, 1 << 20)], seed: 24);
        await using var serve = await InProcessServe.StartAsync("serve", "--file", image, "--port", "0");

        Assert.Equal(await TargetImage.FileSha256Async(image), await TargetImage.Sha256Async(serve.Uri, dir));
        await ExternalTool.RunAsync("nbdcopy", [replacement, serve.Uri]);
        var result = await serve.StopAsync();

        Assert.True(result.ExitCode == 0, result.ToString());
        Assert.Equal(16L << 20, new FileInfo(image).Length);
        Assert.Equal(await TargetImage.FileSha256Async(replacement), await TargetImage.FileSha256Async(image));
    }

    [Fact]
    public async Task Serve_file_that_does_not_exist_fails_with_exit_code_1_and_one_line()
    {
        using var dir = new TempDirectory();
        var missing = dir.File("missing.raw");

        var result = await MigrateCli.RunAsync("serve", "--file", missing, "--port", "0");

        AssertFailedWithOneLine(result, $"The file {missing} does not exist (add --create SIZE to make a new sparse disk).");
        Assert.False(File.Exists(missing));
    }

    [Fact]
    public async Task Serve_file_create_over_an_existing_file_fails_and_leaves_the_file_alone()
    {
        using var dir = new TempDirectory();
        var existing = dir.File("existing.raw");
        SparseImage.Create(existing, 1 << 20, [(0, 4096)], seed: 25);
        var before = await TargetImage.FileSha256Async(existing);

        var result = await MigrateCli.RunAsync("serve", "--file", existing, "--create", "32M", "--port", "0");

        AssertFailedWithOneLine(result, "already exists: --create makes a new file");
        Assert.Equal(1L << 20, new FileInfo(existing).Length);
        Assert.Equal(before, await TargetImage.FileSha256Async(existing));
    }

    [Theory]
    [InlineData("qcow2")]
    [InlineData("vmdk")]
    public async Task Serve_image_decodes_it_read_only_like_qemu_nbd(string format)
    {
        using var dir = new TempDirectory();
        var image = dir.File("disk." + format);
        await ExternalTool.RunAsync("qemu-img", ["create", "-q", "-f", format, image, "24M"]);
        await ExternalTool.RunAsync("qemu-io", ["-f", format, "-c", "write -P 0x61 1M 2M", "-c", "write -P 0x62 17M 64k", image]);
        var expected = dir.File("expected.raw");
        await ExternalTool.RunAsync("qemu-img", ["convert", "-f", format, "-O", "raw", image, expected]);
        var before = await TargetImage.FileSha256Async(image);

        await using var serve = await InProcessServe.StartAsync("serve", image, "--port", "0");
        using var info = JsonDocument.Parse(await ExternalTool.RunAsync("nbdinfo", ["--json", serve.Uri]));
        var export = info.RootElement.GetProperty("exports")[0];
        Assert.True(export.GetProperty("is_read_only").GetBoolean());
        Assert.Equal(24L << 20, export.GetProperty("export-size").GetInt64());
        Assert.Equal(await TargetImage.FileSha256Async(expected), await TargetImage.Sha256Async(serve.Uri, dir));

        var map = await ExternalTool.RunAsync("nbdinfo", ["--map", serve.Uri]);
        Assert.Contains("   1048576     2097152    0  data", map, StringComparison.Ordinal);

        var write = await ExternalTool.TryRunAsync("nbdcopy", [expected, serve.Uri]);
        Assert.NotEqual(0, write.ExitCode);
        var result = await serve.StopAsync();
        Assert.True(result.ExitCode == 0, result.ToString());
        Assert.Equal(before, await TargetImage.FileSha256Async(image));
    }

    [Fact]
    public async Task Read_only_serve_is_reported_read_only_and_refuses_nbdcopy_writes()
    {
        using var dir = new TempDirectory();
        var image = dir.File("disk.raw");
        SparseImage.Create(image, 8L << 20, [(0, 1 << 20)], seed: 26);
        var before = await TargetImage.FileSha256Async(image);
        var source = dir.File("source.raw");
        SparseImage.CreateRandom(source, 8L << 20, seed: 27);
        await using var serve = await InProcessServe.StartAsync("serve", "--file", image, "--read-only", "--port", "0");

        using var info = JsonDocument.Parse(await ExternalTool.RunAsync("nbdinfo", ["--json", serve.Uri]));
        Assert.True(info.RootElement.GetProperty("exports")[0].GetProperty("is_read_only").GetBoolean());
        var copy = await ExternalTool.TryRunAsync("nbdcopy", [source, serve.Uri]);

        Assert.NotEqual(0, copy.ExitCode);
        Assert.Contains("read-only", copy.StdErr, StringComparison.Ordinal);
        Assert.Equal(before, await TargetImage.Sha256Async(serve.Uri, dir));
        var result = await serve.StopAsync();
        Assert.True(result.ExitCode == 0, result.ToString());
        Assert.Equal(before, await TargetImage.FileSha256Async(image));
    }

    [Fact]
    public async Task Tls_psk_serve_prints_an_nbds_uri_that_nbdinfo_and_nbdcopy_use_and_plaintext_is_refused()
    {
        using var dir = new TempDirectory();
        var keys = dir.File("keys.psk");
        File.WriteAllLines(keys,
        [
            "# users of this export",
            $"{Identity}:{Convert.ToHexString(TestData.Random(32, seed: 28)).ToLowerInvariant()}",
            $"bob:{Convert.ToHexString(TestData.Random(16, seed: 29)).ToLowerInvariant()}",
        ]);
        var strangerKeys = TestData.WritePskFile(dir, "mallory", TestData.Random(32, seed: 30), "stranger.psk");
        var source = dir.File("source.raw");
        SparseImage.Create(source, 16L << 20, [(0, 3 << 20), (9L << 20, 1 << 20)], seed: 31);
        await using var serve = await InProcessServe.StartAsync("serve", "--memory", "16M", "--port", "0", "--tls-psk", keys);

        var port = PortOf(serve.Uri);
        Assert.Equal($"nbds://{Identity}@127.0.0.1:{port}/?tls-psk-file={Uri.EscapeDataString(keys)}", serve.Uri);
        using var info = JsonDocument.Parse(await ExternalTool.RunAsync("nbdinfo", ["--json", serve.Uri]));
        Assert.True(info.RootElement.GetProperty("TLS").GetBoolean());
        Assert.Equal(16L << 20, info.RootElement.GetProperty("exports")[0].GetProperty("export-size").GetInt64());

        var plaintext = await ExternalTool.TryRunAsync("nbdinfo", ["--json", $"nbd://127.0.0.1:{port}/"]);
        Assert.NotEqual(0, plaintext.ExitCode);
        Assert.DoesNotContain("export-size", plaintext.StdOut, StringComparison.Ordinal);
        var stranger = await ExternalTool.TryRunAsync("nbdinfo", [$"nbds://mallory@127.0.0.1:{port}/?tls-psk-file={strangerKeys}"]);
        Assert.NotEqual(0, stranger.ExitCode);

        var bob = $"nbds://bob@127.0.0.1:{port}/?tls-psk-file={keys}";
        await ExternalTool.RunAsync("nbdcopy", [source, bob]);
        Assert.Equal(await TargetImage.FileSha256Async(source), await TargetImage.Sha256Async(serve.Uri, dir));
        var result = await serve.StopAsync();
        Assert.True(result.ExitCode == 0, result.ToString());
    }

    [Fact]
    public async Task Serve_as_a_process_over_tls_psk_moves_data_both_ways_without_stalling()
    {
        // The real process, whose Program.cs sets socket completions inline for plaintext serving only: with
        // TLS, a blocking TLS write on the socket engine's thread once deadlocked a read-back like this one.
        using var dir = new TempDirectory();
        var keys = TestData.WritePskFile(dir, Identity, TestData.Random(32, seed: 61));
        var source = dir.File("source.raw");
        SparseImage.CreateRandom(source, 64L << 20, seed: 62);
        await using var serve = await ProcessServe.StartAsync("serve", "--memory", "64M", "--port", "0", "--tls-psk", keys);

        await ExternalTool.RunAsync("nbdcopy", [source, serve.Uri], TimeSpan.FromSeconds(60));
        var copy = dir.File("copy.raw");
        await ExternalTool.RunAsync("nbdcopy", [serve.Uri, copy], TimeSpan.FromSeconds(60));
        Assert.Equal(await TargetImage.FileSha256Async(source), await TargetImage.FileSha256Async(copy));
        Assert.Equal(0, await serve.TerminateAsync());
    }

    [Fact]
    public async Task Serve_on_a_port_in_use_fails_with_exit_code_1_and_a_clear_message()
    {
        using var taken = new TcpListener(IPAddress.Loopback, 0);
        taken.Start();
        var port = ((IPEndPoint)taken.LocalEndpoint).Port.ToString(CultureInfo.InvariantCulture);

        var result = await MigrateCli.RunAsync("serve", "--memory", "1M", "--port", port);

        AssertFailedWithOneLine(result, $"Cannot listen on 127.0.0.1 port {port}: the address is already in use");
    }

    [Fact]
    public async Task Serve_on_a_port_in_use_with_create_fails_and_removes_the_file_it_made()
    {
        using var dir = new TempDirectory();
        var target = dir.File("new.raw");
        using var taken = new TcpListener(IPAddress.Loopback, 0);
        taken.Start();
        var port = ((IPEndPoint)taken.LocalEndpoint).Port.ToString(CultureInfo.InvariantCulture);

        var result = await MigrateCli.RunAsync("serve", "--file", target, "--create", "1G", "--port", port);

        AssertFailedWithOneLine(result, "already in use");
        Assert.False(File.Exists(target), "a file created for a server that never listened must be removed");
    }

    [Fact]
    public async Task Serve_on_an_existing_socket_path_fails_with_exit_code_1_and_leaves_the_path_alone()
    {
        using var dir = new TempDirectory();
        var path = dir.File("taken.sock");
        await File.WriteAllTextAsync(path, "not a socket");

        var result = await MigrateCli.RunAsync("serve", "--memory", "1M", "--socket", path);

        AssertFailedWithOneLine(result, "the path exists");
        Assert.Equal("not a socket", await File.ReadAllTextAsync(path));
    }

    [Theory]
    [InlineData("--memory 12Q", "--memory 12Q is not a disk size")]
    [InlineData("--memory 0", "--memory 0 is not a disk size")]
    [InlineData("--port 0", "serve needs exactly one disk: an IMAGE (served read-only), --memory SIZE or --file PATH.")]
    [InlineData("--memory 1M --file x.raw", "serve needs exactly one disk")]
    [InlineData("--memory 1M --create 1M", "--create SIZE goes with --file PATH")]
    [InlineData("--memory 1M --port 1 --socket x.sock", "--port and --socket cannot be combined")]
    [InlineData("--memory 1M --port 70000", "--port 70000 is not a TCP port")]
    [InlineData("--memory 1M --tls-psk /nonexistent/keys.psk", "The TLS-PSK file /nonexistent/keys.psk does not exist.")]
    public async Task Serve_with_bad_options_fails_with_exit_code_1_and_one_line(string arguments, string message)
    {
        var result = await MigrateCli.RunAsync(["serve", .. arguments.Split(' ')], CancellationToken.None);

        AssertFailedWithOneLine(result, message);
    }

    [Fact]
    public async Task Serve_with_a_malformed_psk_file_names_the_line_and_not_the_key()
    {
        using var dir = new TempDirectory();
        var keys = dir.File("bad.psk");
        File.WriteAllLines(keys, ["alice:00112233", "bob:not-hex-secret"]);

        var result = await MigrateCli.RunAsync("serve", "--memory", "1M", "--port", "0", "--tls-psk", keys);

        AssertFailedWithOneLine(result, $"The TLS-PSK file {keys} line 2: the key of identity 'bob' is not hexadecimal.");
        Assert.DoesNotContain("not-hex-secret", result.StdErr, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Verbose_serve_logs_each_connection_at_information_level()
    {
        await using var serve = await ProcessServe.StartAsync("serve", "--memory", "1M", "--port", "0", "--verbose");

        await ExternalTool.RunAsync("nbdinfo", [serve.Uri]);
        await ExternalTool.RunAsync("nbdinfo", [serve.Uri]);
        var exitCode = await serve.TerminateAsync();

        Assert.True(exitCode == 0, $"exit {exitCode}: {serve.StdErr}");
        Assert.Matches(@"info: \S+ServeCommand\[2\] Connection 1 opened from 127\.0\.0\.1:\d+", serve.StdErr);
        Assert.Contains("Connection 2 opened", serve.StdErr, StringComparison.Ordinal);
        Assert.Contains("Connection 2 to export '' closed", serve.StdErr, StringComparison.Ordinal);
        Assert.Equal([serve.Uri], Lines(serve.StdOut));
    }

    [Fact]
    public async Task Serve_without_verbose_logs_nothing_and_stops_on_cancellation_with_exit_code_0()
    {
        await using var serve = await InProcessServe.StartAsync("serve", "--memory", "1M", "--port", "0");
        await ExternalTool.RunAsync("nbdinfo", [serve.Uri]);
        var clock = Stopwatch.StartNew();

        var result = await serve.StopAsync();

        Assert.True(result.ExitCode == 0, result.ToString());
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(5), $"took {clock.Elapsed} to stop");
        Assert.DoesNotContain("cancelled", result.StdErr, StringComparison.Ordinal);
        var refused = await ExternalTool.TryRunAsync("nbdinfo", [serve.Uri]);
        Assert.NotEqual(0, refused.ExitCode);
    }

    private static void AssertFailedWithOneLine(CliResult result, string message)
    {
        Assert.True(result.ExitCode == 1, result.ToString());
        Assert.Equal(string.Empty, result.StdOut);
        var lines = Lines(result.StdErr);
        Assert.True(lines.Length == 1, result.ToString());
        Assert.StartsWith("whitesky-migrate: ", lines[0], StringComparison.Ordinal);
        Assert.Contains(message, lines[0], StringComparison.Ordinal);
    }

    private static string[] Lines(string text) => text.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);

    private static int PortOf(string uri) => new Uri(uri).Port;

    /// <summary>Bytes the file takes on disk (<c>stat -c %b</c> blocks of 512 bytes).</summary>
    private static async Task<long> AllocatedBytesAsync(string path)
    {
        var output = await ExternalTool.RunAsync("stat", ["-c", "%b", path]);
        return long.Parse(output.Trim(), CultureInfo.InvariantCulture) * 512;
    }

    /// <summary>The file's data ranges as <c>qemu-img map</c> sees them (SEEK_DATA/SEEK_HOLE), adjacent ranges merged.</summary>
    private static async Task<IReadOnlyList<(long Start, long Length)>> DataExtentsAsync(string path)
    {
        using var map = JsonDocument.Parse(await ExternalTool.RunAsync("qemu-img", ["map", "-f", "raw", "--output=json", path]));
        var ranges = new List<(long Start, long Length)>();
        foreach (var extent in map.RootElement.EnumerateArray().Where(e => e.GetProperty("data").GetBoolean()))
        {
            var start = extent.GetProperty("start").GetInt64();
            var length = extent.GetProperty("length").GetInt64();
            if (ranges.Count > 0 && ranges[^1].Start + ranges[^1].Length == start)
            {
                ranges[^1] = (ranges[^1].Start, ranges[^1].Length + length);
            }
            else
            {
                ranges.Add((start, length));
            }
        }

        return ranges;
    }

    [GeneratedRegex(@"^nbd://127\.0\.0\.1:\d+/$")]
    private static partial Regex TcpUriPattern();

    /// <summary>
    /// The command tree run in-process: standard output is watched for the URI line, and stopping cancels the
    /// token, as the first Ctrl-C or SIGTERM does in the real program.
    /// </summary>
    private sealed class InProcessServe : IAsyncDisposable
    {
        private readonly CancellationTokenSource _stop = new();
        private readonly LineWriter _stdout = new();
        private readonly StringWriter _stderr = new();
        private readonly Task<int> _exit;

        private InProcessServe(string[] args)
        {
            _exit = Task.Run(() => MigrateCommandLine.InvokeAsync(args, _stdout, TextWriter.Synchronized(_stderr), _stop.Token));
        }

        public string Uri { get; private set; } = string.Empty;

        public static async Task<InProcessServe> StartAsync(params string[] args)
        {
            var serve = new InProcessServe(args);
            var first = await Task.WhenAny(serve._stdout.FirstLine, serve._exit).WaitAsync(StartTimeout);
            if (first != serve._stdout.FirstLine)
            {
                await serve.DisposeAsync();
                throw new InvalidOperationException($"serve exited with {await serve._exit} before printing a URI: {serve._stderr}");
            }

            serve.Uri = await serve._stdout.FirstLine;
            return serve;
        }

        public async Task<CliResult> StopAsync()
        {
            await _stop.CancelAsync();
            var exitCode = await _exit.WaitAsync(StopTimeout);
            return new CliResult(exitCode, _stdout.ToString(), _stderr.ToString());
        }

        public async ValueTask DisposeAsync()
        {
            await _stop.CancelAsync();
            try
            {
                await _exit.WaitAsync(StopTimeout);
            }
            finally
            {
                _stop.Dispose();
                await _stdout.DisposeAsync();
                await _stderr.DisposeAsync();
            }
        }
    }

    /// <summary>Captures what is written and completes <see cref="FirstLine"/> once a whole line is in.</summary>
    private sealed class LineWriter : TextWriter
    {
        private readonly StringBuilder _text = new();
        private readonly TaskCompletionSource<string> _firstLine = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public override Encoding Encoding => Encoding.UTF8;

        public Task<string> FirstLine => _firstLine.Task;

        public override void Write(char value)
        {
            lock (_text)
            {
                _text.Append(value);
                if (value == '\n')
                {
                    _firstLine.TrySetResult(_text.ToString().Split('\n')[0].TrimEnd('\r'));
                }
            }
        }

        public override string ToString()
        {
            lock (_text)
            {
                return _text.ToString();
            }
        }
    }

    /// <summary>The published program run as a process, for what only a process has: POSIX signals and the console log.</summary>
    private sealed class ProcessServe : IAsyncDisposable
    {
        private readonly Process _process;
        private readonly StringBuilder _stdout = new();
        private readonly StringBuilder _stderr = new();
        private readonly TaskCompletionSource<string> _firstLine = new(TaskCreationOptions.RunContinuationsAsynchronously);

        private ProcessServe(Process process)
        {
            _process = process;
        }

        public string Uri { get; private set; } = string.Empty;

        public string StdOut
        {
            get
            {
                lock (_stdout)
                {
                    return _stdout.ToString();
                }
            }
        }

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

        public static async Task<ProcessServe> StartAsync(params string[] args)
        {
            var info = MigrateCli.StartInfo(args);
            var serve = new ProcessServe(new Process { StartInfo = info });
            serve._process.OutputDataReceived += (_, e) =>
            {
                if (e.Data is null)
                {
                    return;
                }

                lock (serve._stdout)
                {
                    serve._stdout.AppendLine(e.Data);
                }

                serve._firstLine.TrySetResult(e.Data);
            };
            serve._process.ErrorDataReceived += (_, e) =>
            {
                lock (serve._stderr)
                {
                    serve._stderr.AppendLine(e.Data);
                }
            };
            serve._process.Start();
            serve._process.BeginOutputReadLine();
            serve._process.BeginErrorReadLine();

            var first = await Task.WhenAny(serve._firstLine.Task, serve._process.WaitForExitAsync()).WaitAsync(StartTimeout);
            if (first != serve._firstLine.Task)
            {
                await serve._process.WaitForExitAsync();
                var error = new InvalidOperationException($"serve exited with {serve._process.ExitCode} before printing a URI: {serve.StdErr}");
                await serve.DisposeAsync();
                throw error;
            }

            serve.Uri = await serve._firstLine.Task;
            return serve;
        }

        /// <summary>Sends SIGTERM, as a service manager does, and returns the exit code.</summary>
        public async Task<int> TerminateAsync()
        {
            using (var kill = Process.Start(ExternalTool.Require("kill"), ["-TERM", _process.Id.ToString(CultureInfo.InvariantCulture)]))
            {
                await kill.WaitForExitAsync().WaitAsync(StopTimeout);
                Assert.Equal(0, kill.ExitCode);
            }

            await _process.WaitForExitAsync().WaitAsync(StopTimeout);

            // The parameterless wait also drains the redirected output.
            _process.WaitForExit();
            return _process.ExitCode;
        }

        public ValueTask DisposeAsync()
        {
            if (!_process.HasExited)
            {
                _process.Kill(entireProcessTree: true);
                _process.WaitForExit();
            }

            _process.Dispose();
            return ValueTask.CompletedTask;
        }
    }
}
