using System.Net;
using System.Net.Sockets;
using BenchmarkDotNet.Attributes;
using Org.BouncyCastle.Tls;
using Whitesky.Nbd;
using Whitesky.Nbd.Tls;

namespace Whitesky.Benchmarks;

/// <summary>
/// TLS-PSK record throughput: one operation encrypts 2 MiB on the client (one write, as an NBD WRITE
/// payload is sent) and decrypts it on the server, through a <see cref="PskTls"/> pair over loopback TCP.
/// Compares BouncyCastle's managed AES-GCM with the <see cref="System.Security.Cryptography.AesGcm"/>-backed
/// record cipher, in TLS 1.3 and TLS 1.2. MiB/s = 2 / (mean in seconds).
/// </summary>
[MemoryDiagnoser]
public class TlsRecordBenchmarks
{
    private const int PayloadSize = 2 << 20;

    private readonly byte[] _payload = new byte[PayloadSize];
    private Socket? _clientSocket;
    private Socket? _serverSocket;
    private PskTlsStream? _client;
    private PskTlsStream? _server;
    private Thread? _drain;
    private SemaphoreSlim? _received;
    private volatile bool _stopping;

    /// <summary>Whether AES-GCM records run on .NET's AesGcm (true) or BouncyCastle's managed GCM (false).</summary>
    [Params(false, true)]
    public bool DotNetAesGcm { get; set; }

    /// <summary>The TLS version negotiated.</summary>
    [Params("1.3", "1.2")]
    public string Version { get; set; } = "1.3";

    [GlobalSetup]
    public void Setup()
    {
        Random.Shared.NextBytes(_payload);
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        _clientSocket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        _clientSocket.Connect((IPEndPoint)listener.LocalEndpoint);
        _serverSocket = listener.AcceptSocket();

        var options = PskTlsOptions.Default with
        {
            UseDotNetAesGcm = DotNetAesGcm,
            Versions = Version == "1.3" ? ProtocolVersion.TLSv13.Only() : ProtocolVersion.TLSv12.Only(),
        };
        var psk = new NbdTlsPsk("bench", new byte[32]);
        var server = PskTls.AcceptServerAsync(new NetworkStream(_serverSocket, ownsSocket: true), _ => psk, options, CancellationToken.None);
        _client = PskTls.ConnectClientAsync(new NetworkStream(_clientSocket, ownsSocket: true), psk, options, CancellationToken.None)
            .GetAwaiter().GetResult();
        _server = server.GetAwaiter().GetResult();
        if (_client.CipherSuiteName.Contains("CHACHA", StringComparison.Ordinal))
        {
            throw new InvalidOperationException("Expected an AES-GCM suite, got " + _client.CipherSuiteName);
        }

        _received = new SemaphoreSlim(0);
        _drain = new Thread(Drain) { IsBackground = true, Name = "TLS benchmark reader" };
        _drain.Start();
    }

    /// <summary>Encrypts 2 MiB on the client and waits until the server decrypted all of it.</summary>
    [Benchmark]
    public void Write2MiB()
    {
        _client!.Write(_payload);
        _received!.Wait();
    }

    private void Drain()
    {
        var buffer = new byte[256 << 10];
        try
        {
            while (!_stopping)
            {
                for (var total = 0; total < PayloadSize;)
                {
                    var read = _server!.Read(buffer, 0, Math.Min(buffer.Length, PayloadSize - total));
                    if (read == 0)
                    {
                        return;
                    }

                    total += read;
                }

                _received!.Release();
            }
        }
        catch (IOException) when (_stopping)
        {
        }
        catch (ObjectDisposedException) when (_stopping)
        {
        }
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        _stopping = true;
        _client?.Dispose();
        _server?.Dispose();
        _drain?.Join(TimeSpan.FromSeconds(5));
        _received?.Dispose();
    }
}
