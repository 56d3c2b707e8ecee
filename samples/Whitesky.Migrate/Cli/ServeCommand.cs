using Whitesky.DiskFormats;
using Whitesky.Migration.Sources;
using System.CommandLine;
using System.Globalization;
using System.Net.Sockets;
using Microsoft.Extensions.Logging;
using Whitesky.Migrate.Serve;
using Whitesky.Nbd;
using Whitesky.Nbd.Server;

namespace Whitesky.Migrate.Cli;

/// <summary>
/// <c>serve (IMAGE | --memory SIZE | --file PATH [--create SIZE]) [--port N | --socket PATH] [--export NAME] [--read-only] [--tls-psk FILE]</c>:
/// an NBD server in the foreground, like <c>qemu-nbd</c> or <c>nbdkit</c>, until Ctrl-C or SIGTERM.
/// </summary>
internal static partial class ServeCommand
{
    /// <summary>The NBD port (IANA).</summary>
    public const int DefaultPort = 10809;

    /// <summary>Only this machine can connect unless told otherwise: an export is a whole disk, writable by default.</summary>
    public const string ListenAddress = "127.0.0.1";

    public static Command Create(Option<bool> verbose)
    {
        var image = new Argument<string?>("IMAGE")
        {
            Description = "A disk image (raw, qcow2, vmdk, ...) to serve read-only, decoded, like qemu-nbd.",
            Arity = ArgumentArity.ZeroOrOne,
        };
        var memory = new Option<string?>("--memory")
        {
            Description = "Serve a sparse in-memory disk of SIZE bytes (e.g. 64M, 4G); its contents go when the server stops.",
            HelpName = "SIZE",
        };
        var file = new Option<string?>("--file")
        {
            Description = "Serve a raw image file, kept sparse: zeroed and trimmed ranges become holes.",
            HelpName = "PATH",
        };
        var create = new Option<string?>("--create")
        {
            Description = "With --file: create PATH as a new sparse file of SIZE bytes (an error if it exists).",
            HelpName = "SIZE",
        };
        var port = new Option<int?>("--port", "-p")
        {
            Description = $"The TCP port on {ListenAddress} (0: any free port). Default {DefaultPort}.",
            HelpName = "N",
        };
        var socket = new Option<string?>("--socket", "-U")
        {
            Description = "Listen on this Unix socket instead of TCP.",
            HelpName = "PATH",
        };
        var export = new Option<string>("--export", "-e")
        {
            Description = "The export name clients ask for. Default: the empty (default) name.",
            HelpName = "NAME",
            DefaultValueFactory = _ => string.Empty,
        };
        var readOnly = new Option<bool>("--read-only", "-r") { Description = "Refuse writes, zeroes and trims." };
        var tlsPsk = new Option<string?>("--tls-psk")
        {
            Description = "Require TLS with the pre-shared keys of this file (identity:hexkey lines, as nbdkit --tls-psk).",
            HelpName = "FILE",
        };

        var command = new Command("serve", "Serve a disk over NBD in the foreground (like qemu-nbd or nbdkit) until Ctrl-C or SIGTERM.")
        {
            image,
            memory,
            file,
            create,
            port,
            socket,
            export,
            readOnly,
            tlsPsk,
        };
        command.SetAction((parseResult, cancellationToken) => CommandExecution.RunAsync(parseResult, verbose, (context, ct) => ServeAsync(context, ServeSettings.Parse(
            parseResult.GetValue(image), parseResult.GetValue(memory), parseResult.GetValue(file), parseResult.GetValue(create), parseResult.GetValue(port),
            parseResult.GetValue(socket), parseResult.GetValue(export) ?? string.Empty, parseResult.GetValue(readOnly), parseResult.GetValue(tlsPsk)), ct),
            cancellationToken));
        return command;
    }

    private static async Task<int> ServeAsync(CommandContext context, ServeSettings settings, CancellationToken cancellationToken)
    {
        var keys = settings.TlsPskFile is null ? null : PskKeyFile.Load(settings.TlsPskFile);
        var logger = context.LoggerFactory.CreateLogger(typeof(ServeCommand).FullName!);

        var backend = await OpenBackendAsync(settings, cancellationToken);
        var started = false;
        try
        {
            await using (backend)
            {
                var server = await StartServerAsync(settings, endpoint => new NbdServerOptions
                {
                    Listen = [endpoint],
                    Exports = [new NbdServerExport { Name = settings.Export, Backend = backend, ReadOnly = settings.ReadOnly }],
                    TlsMode = keys is null ? NbdServerTlsMode.Disabled : NbdServerTlsMode.Required,
                    TlsPskKeys = keys is null ? null : keys.Find,
                    LoggerFactory = context.LoggerFactory,
                });
                started = true;
                await ServeUntilStoppedAsync(context, settings, keys, server, backend, logger, cancellationToken);
            }
        }
        finally
        {
            if (!started && settings.CreateSize is not null)
            {
                // A file made for a server that never listened is nobody's disk; keeping it would make the retry fail.
                File.Delete(settings.FilePath!);
            }
        }

        return CommandExecution.Success;
    }

    private static async Task ServeUntilStoppedAsync(CommandContext context, ServeSettings settings, PskKeyFile? keys, NbdServer server,
        NbdBackend backend, ILogger logger, CancellationToken cancellationToken)
    {
        server.ConnectionOpened += (_, e) => LogConnectionOpened(logger, e.ConnectionId, RemoteName(e.RemoteEndpoint));
        server.ConnectionClosed += (_, e) =>
        {
            if (e.Error is null)
            {
                LogConnectionClosed(logger, e.ConnectionId, e.Export ?? "(none)");
            }
            else
            {
                LogConnectionFailed(logger, e.ConnectionId, e.Export ?? "(none)", e.Error.Message);
            }
        };

        try
        {
            foreach (var listening in server.Endpoints)
            {
                await context.Output.WriteLineAsync(NbdUri.Format(listening, settings.Export, tls: keys is not null, keys?.FirstIdentity, keys?.Path));
            }

            await context.Output.FlushAsync(CancellationToken.None);
            LogServing(logger, DescribeBackend(settings), backend.Size, settings.Export, settings.ReadOnly || backend.IsReadOnly ? "read-only" : "read-write");

            // Serving is the command's work: a signal ends it normally, so it is not reported as a cancellation.
            try
            {
                await Task.Delay(Timeout.Infinite, cancellationToken);
            }
            catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
            {
            }
        }
        finally
        {
            // Stops accepting, lets every connection finish the requests it has read, then closes them.
            LogStopping(logger, server.ConnectionCount);
            await server.DisposeAsync();
        }

        if (backend.CanFlush && !backend.IsReadOnly)
        {
            // Clients need not FLUSH (nbdcopy does not by default); what they wrote is made durable before exit.
            await backend.FlushAsync(CancellationToken.None);
        }
    }

    private static async Task<NbdServer> StartServerAsync(ServeSettings settings, Func<NbdEndpoint, NbdServerOptions> optionsFor)
    {
        NbdEndpoint endpoint = settings.SocketPath is { } socketPath ? NbdEndpoint.Unix(socketPath) : NbdEndpoint.Tcp(ListenAddress, settings.Port);
        try
        {
            return await NbdServer.StartAsync(optionsFor(endpoint), CancellationToken.None);
        }
        catch (SocketException ex)
        {
            var where = endpoint is NbdTcpEndpoint tcp
                ? string.Create(CultureInfo.InvariantCulture, $"{tcp.Host} port {tcp.Port}")
                : "Unix socket " + settings.SocketPath;
            throw new CommandFailedException($"Cannot listen on {where}: {ListenFailure(ex)}.", ex);
        }
    }

    private static async Task<NbdBackend> OpenBackendAsync(ServeSettings settings, CancellationToken cancellationToken)
    {
        if (settings.ImagePath is { } imagePath)
        {
            if (!File.Exists(imagePath))
            {
                throw new CommandFailedException($"The image {imagePath} does not exist.");
            }

            return new VirtualDiskBackend(await DiskImage.OpenAsync(imagePath, cancellationToken: cancellationToken), ownsDisk: true);
        }

        if (settings.MemorySize is { } memorySize)
        {
            return new MemoryBackend(memorySize);
        }

        if (!OperatingSystem.IsLinux())
        {
            throw new CommandFailedException("--file needs Linux (sparse files are served with fallocate and SEEK_DATA/SEEK_HOLE).");
        }

        var path = settings.FilePath!;
        if (settings.CreateSize is { } createSize)
        {
            if (Path.Exists(path))
            {
                throw new CommandFailedException($"{path} already exists: --create makes a new file (leave --create out to serve the existing one).");
            }

            return SparseFileBackend.Create(path, createSize);
        }

        if (Directory.Exists(path))
        {
            throw new CommandFailedException($"{path} is a directory, not a disk image file.");
        }

        if (!File.Exists(path))
        {
            throw new CommandFailedException($"The file {path} does not exist (add --create SIZE to make a new sparse disk).");
        }

        return SparseFileBackend.Open(path, settings.ReadOnly);
    }

    private static string DescribeBackend(ServeSettings settings) =>
        settings.ImagePath is { } image ? Path.GetFullPath(image) + " (read-only)"
        : settings.MemorySize is not null ? "memory" : Path.GetFullPath(settings.FilePath!);

    private static string ListenFailure(SocketException ex) => ex.SocketErrorCode switch
    {
        SocketError.AddressAlreadyInUse => "the address is already in use (another server is listening there; pick another --port or --socket)",
        SocketError.AccessDenied => "permission denied",
        _ => ex.Message,
    };

    private static string RemoteName(string remote) => remote.Length == 0 ? "the Unix socket" : remote;

    [LoggerMessage(EventId = 1, Level = LogLevel.Information, Message = "Serving {Backend} ({Size} bytes) as export '{Export}', {Access}")]
    private static partial void LogServing(ILogger logger, string backend, long size, string export, string access);

    [LoggerMessage(EventId = 2, Level = LogLevel.Information, Message = "Connection {Id} opened from {Remote}")]
    private static partial void LogConnectionOpened(ILogger logger, long id, string remote);

    [LoggerMessage(EventId = 3, Level = LogLevel.Information, Message = "Connection {Id} to export '{Export}' closed")]
    private static partial void LogConnectionClosed(ILogger logger, long id, string export);

    [LoggerMessage(EventId = 4, Level = LogLevel.Information, Message = "Connection {Id} to export '{Export}' ended: {Reason}")]
    private static partial void LogConnectionFailed(ILogger logger, long id, string export, string reason);

    [LoggerMessage(EventId = 5, Level = LogLevel.Information, Message = "Stopping: finishing the requests of {Connections} connections")]
    private static partial void LogStopping(ILogger logger, int connections);
}
