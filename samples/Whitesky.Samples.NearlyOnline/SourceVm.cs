using System.Diagnostics;
using System.Globalization;
using Whitesky.Nbd;

namespace Whitesky.Samples.NearlyOnline;

/// <summary>
/// A source VM: a qcow2 disk with a persistent dirty bitmap, exported by qemu-nbd on a Unix socket, and a "guest"
/// that writes 4 KiB blocks at a steady rate through its own NBD connection while the VM runs.
/// </summary>
internal sealed class SourceVm : IAsyncDisposable
{
    public const string Bitmap = "replication";
    private const int WriteSize = 4096;
    private readonly Process _server;
    private readonly NbdClient _guest;
    private readonly long _bytesPerSecond;
    private readonly HashSet<long> _changedBlocks = [];
    private CancellationTokenSource? _stop;
    private Task? _writer;

    private SourceVm(string name, string socket, Process server, NbdClient guest, long bytesPerSecond)
    {
        Name = name;
        Socket = socket;
        _server = server;
        _guest = guest;
        _bytesPerSecond = bytesPerSecond;
    }

    public string Name { get; }

    public string Socket { get; }

    public NbdClientOptions Export => new() { Endpoint = NbdEndpoint.Unix(Socket) };

    /// <summary>Bytes the guest wrote so far.</summary>
    public long BytesWritten { get; private set; }

    /// <summary>Distinct 4 KiB blocks written since <see cref="TakeChangedBytes"/> was last called, in bytes.</summary>
    public long TakeChangedBytes()
    {
        lock (_changedBlocks)
        {
            var bytes = _changedBlocks.Count * (long)WriteSize;
            _changedBlocks.Clear();
            return bytes;
        }
    }

    public static async Task<SourceVm> CreateAsync(string folder, string name, long size, long bytesPerSecond, CancellationToken cancellationToken)
    {
        var image = Path.Combine(folder, name + ".qcow2");
        var socket = Path.Combine(folder, name + ".sock");
        var sizeText = size.ToString(CultureInfo.InvariantCulture);
        await RunAsync("qemu-img", ["create", "-q", "-f", "qcow2", image, sizeText], cancellationToken);
        // The "installed system": the first quarter of the disk holds data.
        await RunAsync("qemu-io", ["-f", "qcow2", "-c", $"write -P 0x5a 0 {size / 4}", image], cancellationToken);
        // A persistent bitmap of 4 KiB granularity (qemu's default is 64 KiB): it then marks what the guest wrote.
        await RunAsync("qemu-img", ["bitmap", "--add", "-g", "4096", image, Bitmap], cancellationToken);

        var info = new ProcessStartInfo("qemu-nbd") { UseShellExecute = false, RedirectStandardError = true };
        foreach (var argument in new[] { "--socket=" + socket, "--format=qcow2", "--persistent", "--shared=8", "-B", Bitmap, image })
        {
            info.ArgumentList.Add(argument);
        }

        var server = Process.Start(info) ?? throw new InvalidOperationException("qemu-nbd did not start.");
        NbdClient? guest = null;
        for (var attempt = 0; guest is null; attempt++)
        {
            try
            {
                guest = await NbdClient.ConnectAsync(new NbdClientOptions { Endpoint = NbdEndpoint.Unix(socket) }, cancellationToken);
            }
            catch (Exception) when (attempt < 100 && !server.HasExited)
            {
                await Task.Delay(50, cancellationToken);
            }
        }

        return new SourceVm(name, socket, server, guest, bytesPerSecond);
    }

    /// <summary>
    /// The guest starts (or resumes) writing, paced to the rate: random 4 KiB blocks within a hot region (an eighth of
    /// the disk, at most 64 MiB, after the installed system) — as databases and logs do, not uniformly over the disk.
    /// </summary>
    public void StartWriting(int seed)
    {
        _stop = new CancellationTokenSource();
        var stop = _stop.Token;
        _writer = Task.Run(async () =>
        {
            var random = new Random(seed);
            var block = new byte[WriteSize];
            var first = _guest.Export.Size / 4 / WriteSize;
            var blocks = Math.Min(_guest.Export.Size / 8, 64L << 20) / WriteSize;
            var clock = Stopwatch.StartNew();
            long written = 0;
            while (!stop.IsCancellationRequested)
            {
                random.NextBytes(block);
                var index = first + random.NextInt64(blocks);
                await _guest.WriteAsync(index * WriteSize, block, cancellationToken: CancellationToken.None);
                written += WriteSize;
                BytesWritten += WriteSize;
                lock (_changedBlocks)
                {
                    _changedBlocks.Add(index);
                }

                // Pace to the rate: ahead of schedule, wait.
                var due = TimeSpan.FromSeconds((double)written / _bytesPerSecond) - clock.Elapsed;
                if (due > TimeSpan.Zero)
                {
                    try
                    {
                        await Task.Delay(due, stop);
                    }
                    catch (OperationCanceledException)
                    {
                        break;
                    }
                }
            }

            await _guest.FlushAsync(CancellationToken.None);
        }, CancellationToken.None);
    }

    /// <summary>The source platform's "shut down": the guest stops writing and its last writes are flushed.</summary>
    public async Task StopAsync()
    {
        if (_stop is null || _writer is null)
        {
            return;
        }

        await _stop.CancelAsync();
        await _writer;
        _stop.Dispose();
        (_stop, _writer) = (null, null);
    }

    /// <summary>Reads the whole export (the source's final content) and hashes it.</summary>
    public async Task<string> HashAsync(CancellationToken cancellationToken)
    {
        using var sha = System.Security.Cryptography.IncrementalHash.CreateHash(System.Security.Cryptography.HashAlgorithmName.SHA256);
        var buffer = new byte[4 << 20];
        for (var offset = 0L; offset < _guest.Export.Size; offset += buffer.Length)
        {
            var length = (int)Math.Min(buffer.Length, _guest.Export.Size - offset);
            await _guest.ReadAsync(offset, buffer.AsMemory(0, length), cancellationToken);
            sha.AppendData(buffer, 0, length);
        }

        return Convert.ToHexString(sha.GetHashAndReset());
    }

    public async ValueTask DisposeAsync()
    {
        await StopAsync();
        await _guest.DisposeAsync();
        if (!_server.HasExited)
        {
            _server.Kill();
            await _server.WaitForExitAsync();
        }

        _server.Dispose();
    }

    private static async Task RunAsync(string tool, string[] arguments, CancellationToken cancellationToken)
    {
        var info = new ProcessStartInfo(tool) { UseShellExecute = false, RedirectStandardError = true, RedirectStandardOutput = true };
        foreach (var argument in arguments)
        {
            info.ArgumentList.Add(argument);
        }

        using var process = Process.Start(info) ?? throw new InvalidOperationException($"{tool} did not start.");
        var error = process.StandardError.ReadToEndAsync(cancellationToken);
        await process.StandardOutput.ReadToEndAsync(cancellationToken);
        await process.WaitForExitAsync(cancellationToken);
        if (process.ExitCode != 0)
        {
            throw new InvalidOperationException($"{tool} {string.Join(' ', arguments)} failed ({process.ExitCode}): {await error}");
        }
    }
}
