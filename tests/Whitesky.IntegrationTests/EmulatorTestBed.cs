using System.Net.Http.Json;
using System.Text.Json;
using Whitesky.Api;
using Whitesky.Emulator;
using Whitesky.Nbd.Tests.Peers;

namespace Whitesky.IntegrationTests;

/// <summary>An embedded emulator, an SDK client for it, a scratch folder, and the emulator's recorded state.</summary>
internal sealed class EmulatorTestBed : IAsyncDisposable
{
    private readonly HttpClient _admin = new();

    private EmulatorTestBed(WhiteskyEmulator emulator, WhiteskyClient client)
    {
        Emulator = emulator;
        Client = client;
    }

    public WhiteskyEmulator Emulator { get; }

    public WhiteskyClient Client { get; }

    public TempDirectory Temp { get; } = new();

    public static async Task<EmulatorTestBed> StartAsync(WhiteskyEmulatorOptions? options = null)
    {
        var emulator = await WhiteskyEmulator.StartAsync(options);
        var client = WhiteskyClient.Create(new WhiteskyClientOptions
        {
            BaseUrl = emulator.BaseUrl,
            Jwt = emulator.Jwt,
            CustomerId = emulator.CustomerId,
            CloudspaceId = emulator.CloudspaceId,
            Location = emulator.Location,
            PollInterval = TimeSpan.FromMilliseconds(50),
        });
        return new EmulatorTestBed(emulator, client);
    }

    /// <summary>The emulator's record of a VM (<c>GET /_emulator/vms/{id}</c>): flags the API does not show.</summary>
    public async Task<JsonElement> AdminAsync(string what, long id) =>
        await _admin.GetFromJsonAsync<JsonElement>(new Uri($"{Emulator.AdminUrl}/{what}/{id}"));

    /// <summary>The sparse file that holds a disk.</summary>
    public async Task<string> DiskFileAsync(long diskId) => (await AdminAsync("disks", diskId)).GetProperty("path").GetString()!;

    /// <summary>Disks that exist (not deleted) and disks still exposed, through the API.</summary>
    public async Task<(IReadOnlyList<long> Disks, IReadOnlyList<long> Exposed)> StateAsync()
    {
        var disks = (await Client.ListDisksAsync()).Select(d => d.DiskId!.Value).ToList();
        var exposed = (await Client.ListExposedDisksAsync()).Select(d => d.DiskId).ToList();
        return (disks, exposed);
    }

    public async ValueTask DisposeAsync()
    {
        Client.Dispose();
        _admin.Dispose();
        await Emulator.DisposeAsync();
        Temp.Dispose();
    }
}
