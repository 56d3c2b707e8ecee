using System.Text.Json;
using Whitesky.Nbd;

namespace Whitesky.Emulator.Tests;

/// <summary>The answer of <c>exposeDisk</c> (<c>ExposeDiskModel</c>) and the ways tests connect to it.</summary>
internal sealed record NbdExposure(string Protocol, string Address, int Port, string Name, string User, string Psk, string PrivateAddress, int PrivatePort)
{
    public static NbdExposure From(JsonElement body)
    {
        var endpoint = body.GetProperty("endpoint");
        return new NbdExposure(
            body.GetProperty("protocol").GetString()!,
            endpoint.GetProperty("address").GetString()!,
            endpoint.GetProperty("port").GetInt32(),
            endpoint.GetProperty("name").GetString()!,
            endpoint.GetProperty("user").GetString()!,
            endpoint.GetProperty("psk").GetString()!,
            endpoint.GetProperty("private_address").GetString()!,
            endpoint.GetProperty("private_port").GetInt32());
    }

    public NbdClientOptions ClientOptions(bool privateEndpoint = false, string? user = null, string? psk = null) => new()
    {
        Endpoint = privateEndpoint ? NbdEndpoint.Tcp(PrivateAddress, PrivatePort) : NbdEndpoint.Tcp(Address, Port),
        ExportName = Name,
        TlsMode = NbdTlsMode.Required,
        TlsPsk = NbdTlsPsk.FromHex(user ?? User, psk ?? Psk),
        ConnectTimeout = TimeSpan.FromSeconds(10),
        HandshakeTimeout = TimeSpan.FromSeconds(10),
        RequestTimeout = TimeSpan.FromSeconds(30),
    };

    public Task<NbdClient> ConnectAsync(bool privateEndpoint = false) => NbdClient.ConnectAsync(ClientOptions(privateEndpoint));

    /// <summary>Writes an nbdkit/qemu PSK file (<c>identity:hexkey</c>) and returns the NBD URI that uses it.</summary>
    public string UriWithPskFile(string pskFile)
    {
        File.WriteAllText(pskFile, $"{User}:{Psk}\n");
        return $"nbds://{User}@{Address}:{Port}/{Name}?tls-psk-file={Uri.EscapeDataString(pskFile)}";
    }
}
