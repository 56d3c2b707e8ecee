using System.Collections.Concurrent;
using Whitesky.Nbd.Server;
using Whitesky.Nbd.Tests.Peers;

namespace Whitesky.Nbd.Tests.Server.Interop;

/// <summary>
/// An <see cref="NbdServer"/> on a loopback TCP port or a Unix socket, optionally TLS-PSK only (identity
/// <see cref="Identity"/>), with the URIs the real tools and the SDK client use to reach it, and a record of
/// every connection and command the server reported.
/// </summary>
internal sealed class ServerUnderTest : IAsyncDisposable
{
    public const string Identity = "alice";

    public static readonly TimeSpan Limit = TimeSpan.FromSeconds(90);

    private readonly ConcurrentQueue<NbdServerCommandEventArgs> _commands = new();
    private readonly ConcurrentQueue<NbdServerConnectionEventArgs> _opened = new();
    private readonly ConcurrentQueue<NbdServerConnectionEventArgs> _closed = new();
    private readonly List<(Func<bool> Condition, TaskCompletionSource Met)> _watches = [];

    private ServerUnderTest(TempDirectory directory, byte[] key, bool tls)
    {
        Directory = directory;
        Key = key;
        Tls = tls;
        PskFile = tls ? TestData.WritePskFile(directory, Identity, key) : null;
    }

    public TempDirectory Directory { get; }

    public NbdServer Server { get; private set; } = null!;

    /// <summary>The server's PSK for <see cref="Identity"/>.</summary>
    public byte[] Key { get; }

    public bool Tls { get; }

    /// <summary>DIR/keys.psk holding the key (what nbdkit, libnbd and qemu's tls-creds-psk read); null without TLS.</summary>
    public string? PskFile { get; }

    public NbdEndpoint Endpoint => Server.Endpoints[0];

    public IReadOnlyCollection<NbdServerCommandEventArgs> Commands => _commands;

    public IReadOnlyCollection<NbdServerConnectionEventArgs> Opened => _opened;

    public IReadOnlyCollection<NbdServerConnectionEventArgs> Closed => _closed;

    public static async Task<ServerUnderTest> StartAsync(bool unixSocket, bool tls, IReadOnlyList<NbdServerExport> exports,
        Func<NbdServerOptions, NbdServerOptions>? configure = null)
    {
        var directory = new TempDirectory();
        var test = new ServerUnderTest(directory, TestData.Random(32, seed: 4242), tls);
        var options = new NbdServerOptions
        {
            Listen = [unixSocket ? NbdEndpoint.Unix(directory.File("nbd.sock")) : NbdEndpoint.Tcp("127.0.0.1", 0)],
            Exports = exports,
            TlsMode = tls ? NbdServerTlsMode.Required : NbdServerTlsMode.Disabled,
            TlsPskKeys = tls ? identity => identity == Identity ? new NbdTlsPsk(Identity, test.Key) : null : null,
        };
        options = configure?.Invoke(options) ?? options;
        try
        {
            test.Server = await NbdServer.StartAsync(options).WaitAsync(Limit);
        }
        catch
        {
            directory.Dispose();
            throw;
        }

        test.Server.CommandCompleted += (_, e) => test.Record(test._commands, e);
        test.Server.ConnectionOpened += (_, e) => test.Record(test._opened, e);
        test.Server.ConnectionClosed += (_, e) => test.Record(test._closed, e);
        return test;
    }

    /// <summary>One export named "disk" over an <see cref="ArrayBackend"/>.</summary>
    public static Task<ServerUnderTest> StartAsync(bool unixSocket, bool tls, NbdBackend backend, bool readOnly = false,
        Func<NbdServerOptions, NbdServerOptions>? configure = null) =>
        StartAsync(unixSocket, tls, [new NbdServerExport { Name = "disk", Backend = backend, ReadOnly = readOnly, Description = "the test disk" }], configure);

    /// <summary>The libnbd URI (nbd://, nbd+unix://, nbds://alice@..., nbds+unix://alice@...?tls-psk-file=).</summary>
    public string Uri(string export = "disk") =>
        NbdUri.Format(Endpoint, export, Tls, Tls ? Identity : null, PskFile);

    /// <summary>The same URI without TLS (what a client that does not know about TLS would use).</summary>
    public string PlainUri(string export = "disk") => NbdUri.Format(Endpoint, export);

    public NbdClientOptions ClientOptions(string export = "disk") => NbdUri.Parse(Uri(export));

    public Task<NbdClient> ConnectAsync(string export = "disk") => NbdClient.ConnectAsync(ClientOptions(export)).WaitAsync(Limit);

    /// <summary>
    /// qemu's way to reach the export: a --image-opts string, plus the --object that defines the TLS-PSK
    /// credentials (qemu reads DIR/keys.psk and picks the line of its username).
    /// </summary>
    public (string ImageOpts, string[] Objects) QemuTarget(string export = "disk")
    {
        var server = Endpoint switch
        {
            NbdUnixEndpoint unix => $"server.type=unix,server.path={unix.Path}",
            NbdTcpEndpoint tcp => $"server.type=inet,server.host={tcp.Host},server.port={tcp.Port}",
            _ => throw new InvalidOperationException(),
        };
        var opts = $"driver=nbd,{server},export={export}";
        if (!Tls)
        {
            return (opts, []);
        }

        return (opts + ",tls-creds=tls0", ["--object", $"tls-creds-psk,id=tls0,dir={Directory.Path},endpoint=client,username={Identity}"]);
    }

    /// <summary>How many commands of a kind the server answered, and with which error.</summary>
    public int Count(NbdCommand command, NbdError error = NbdError.None) =>
        _commands.Count(c => c.Command == command && c.Error == error);

    /// <summary>
    /// Completes when the server has reported <paramref name="count"/> answered requests. The event is raised
    /// just after the reply is sent, so a client can see its reply a moment before the server reports it.
    /// </summary>
    public Task WhenCommandsAsync(int count) => WhenAsync(() => _commands.Count >= count);

    /// <summary>
    /// Completes when every connection the server opened has closed. A connection closes only after its
    /// last request was reported, so the command record is then complete.
    /// </summary>
    public Task WhenIdleAsync() => WhenAsync(() => _closed.Count >= _opened.Count);

    /// <summary>Completes with the first closed connection <paramref name="match"/> accepts (one already closed included).</summary>
    public async Task<NbdServerConnectionEventArgs> WhenClosedAsync(Func<NbdServerConnectionEventArgs, bool> match)
    {
        await WhenAsync(() => _closed.Any(match));
        return _closed.First(match);
    }

    private Task WhenAsync(Func<bool> condition)
    {
        lock (_watches)
        {
            if (condition())
            {
                return Task.CompletedTask;
            }

            var met = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            _watches.Add((condition, met));
            return met.Task.WaitAsync(Limit);
        }
    }

    private void Record<T>(ConcurrentQueue<T> record, T e)
    {
        lock (_watches)
        {
            record.Enqueue(e);
            foreach (var watch in _watches.Where(w => w.Condition()).ToList())
            {
                watch.Met.TrySetResult();
                _watches.Remove(watch);
            }
        }
    }

    public async ValueTask DisposeAsync()
    {
        try
        {
            await Server.StopAsync().WaitAsync(Limit);
        }
        finally
        {
            await Server.DisposeAsync();
            Directory.Dispose();
        }
    }
}
