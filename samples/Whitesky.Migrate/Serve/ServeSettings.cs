using System.Globalization;
using System.Text;
using Whitesky.Migrate.Cli;

namespace Whitesky.Migrate.Serve;

/// <summary>
/// What <c>serve</c> was asked to do, checked: exactly one disk (<c>--memory</c> or <c>--file</c>), at most one
/// listener kind, sizes that parse. Checked here rather than by the parser so that a mistake is one line on
/// standard error and nothing on standard output, where scripts read the URIs.
/// </summary>
internal sealed record ServeSettings
{
    /// <summary>The NBD limit on export names, in UTF-8 bytes.</summary>
    private const int MaxExportNameBytes = 4096;

    /// <summary>Size of the in-memory disk, or null to serve a file.</summary>
    public long? MemorySize { get; private init; }

    /// <summary>A disk image of any supported format, served read-only (decoded like qemu-nbd does).</summary>
    public string? ImagePath { get; private init; }

    /// <summary>The file to serve, or null for memory.</summary>
    public string? FilePath { get; private init; }

    /// <summary>The size of a file to create, or null to serve an existing file.</summary>
    public long? CreateSize { get; private init; }

    /// <summary>The TCP port on <see cref="ServeCommand.ListenAddress"/> (0: any free port) when <see cref="SocketPath"/> is null.</summary>
    public int Port { get; private init; }

    /// <summary>The Unix socket to listen on (absolute), or null for TCP.</summary>
    public string? SocketPath { get; private init; }

    /// <summary>The export name.</summary>
    public string Export { get; private init; } = string.Empty;

    /// <summary>Serve read-only.</summary>
    public bool ReadOnly { get; private init; }

    /// <summary>The PSK file when TLS is required.</summary>
    public string? TlsPskFile { get; private init; }

    /// <exception cref="CommandFailedException">The options contradict each other or a size does not parse.</exception>
    public static ServeSettings Parse(string? image, string? memory, string? file, string? create, int? port, string? socket, string export, bool readOnly, string? tlsPsk)
    {
        if ((image is null ? 0 : 1) + (memory is null ? 0 : 1) + (file is null ? 0 : 1) != 1)
        {
            throw new CommandFailedException("serve needs exactly one disk: an IMAGE (served read-only), --memory SIZE or --file PATH.");
        }

        if (create is not null && file is null)
        {
            throw new CommandFailedException("--create SIZE goes with --file PATH (the file to create).");
        }

        if (port is not null && socket is not null)
        {
            throw new CommandFailedException("--port and --socket cannot be combined: serve listens on TCP or on a Unix socket.");
        }

        if (port is < 0 or > 65535)
        {
            throw new CommandFailedException(string.Create(CultureInfo.InvariantCulture, $"--port {port} is not a TCP port (0 to 65535; 0 picks a free one)."));
        }

        if (socket is { Length: 0 } || file is { Length: 0 } || tlsPsk is { Length: 0 } || image is { Length: 0 })
        {
            throw new CommandFailedException("--socket, --file and --tls-psk need a path.");
        }

        if (Encoding.UTF8.GetByteCount(export) > MaxExportNameBytes)
        {
            throw new CommandFailedException("--export NAME is longer than the NBD limit of 4096 bytes.");
        }

        return new ServeSettings
        {
            ImagePath = image,
            MemorySize = memory is null ? null : ParseSize("--memory", memory),
            FilePath = file,
            CreateSize = create is null ? null : ParseSize("--create", create),
            Port = port ?? ServeCommand.DefaultPort,
            SocketPath = socket is null ? null : Path.GetFullPath(socket),
            Export = export,
            ReadOnly = readOnly,
            TlsPskFile = tlsPsk,
        };
    }

    private static long ParseSize(string option, string text)
    {
        if (!ByteSize.TryParse(text, out var bytes) || bytes <= 0)
        {
            throw new CommandFailedException($"{option} {text} is not a disk size: a positive number of bytes, with an optional suffix K, M, G or T (e.g. 64M, 4G).");
        }

        return bytes;
    }
}
