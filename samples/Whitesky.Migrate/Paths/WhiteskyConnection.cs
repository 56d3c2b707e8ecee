using System.CommandLine;
using Whitesky.Api;
using Whitesky.Emulator;
using Whitesky.Migrate.Cli;

namespace Whitesky.Migrate.Paths;

/// <summary>
/// Where the path commands send their API calls: <c>--url --token --customer --cloudspace --location</c>, else the
/// <c>WHITESKY_URL</c>, <c>WHITESKY_TOKEN</c>, <c>WHITESKY_CUSTOMER</c>, <c>WHITESKY_CLOUDSPACE</c>,
/// <c>WHITESKY_LOCATION</c> variables (the names <c>whitesky-migrate emulator</c> prints work too), else — when no
/// URL is set at all — an embedded emulator started for the command and stopped with it.
/// </summary>
internal sealed class WhiteskyConnection : IAsyncDisposable
{
    private WhiteskyConnection(WhiteskyClient client, WhiteskyEmulator? emulator)
    {
        Client = client;
        Emulator = emulator;
    }

    public WhiteskyClient Client { get; }

    /// <summary>The embedded emulator, when no whitesky was configured.</summary>
    public WhiteskyEmulator? Emulator { get; }

    public static async Task<WhiteskyConnection> OpenAsync(Settings settings, CommandContext context, CancellationToken cancellationToken)
    {
        var url = settings.Url ?? Variable("WHITESKY_URL", "WHITESKY_BASE_URL");
        if (url is null)
        {
            var emulator = await WhiteskyEmulator.StartAsync(new WhiteskyEmulatorOptions { LoggerFactory = context.LoggerFactory, DataDirectory = settings.EmulatorData }, cancellationToken);
            var kept = settings.EmulatorData is null ? "removed on exit" : "kept";
            await context.Error.WriteLineAsync($"No whitesky configured (WHITESKY_URL): using an embedded emulator at {emulator.BaseUrl}, data in {emulator.DataDirectory} ({kept}).");
            return new WhiteskyConnection(Create(emulator.BaseUrl, emulator.Jwt, emulator.CustomerId, emulator.CloudspaceId, emulator.Location, context), emulator);
        }

        if (!Uri.TryCreate(url, UriKind.Absolute, out var baseUrl) || baseUrl.Scheme is not ("http" or "https"))
        {
            throw new CommandFailedException($"'{url}' is not an http(s) URL of the whitesky API (e.g. https://cloud.example.com/api/1).");
        }

        var token = settings.Token ?? Variable("WHITESKY_TOKEN", "WHITESKY_JWT")
            ?? throw new CommandFailedException("WHITESKY_URL is set but no token: set WHITESKY_TOKEN (a JWT) or pass --token.");
        return new WhiteskyConnection(Create(baseUrl, token,
            settings.Customer ?? Variable("WHITESKY_CUSTOMER", "WHITESKY_CUSTOMER_ID"),
            settings.Cloudspace ?? Variable("WHITESKY_CLOUDSPACE", "WHITESKY_CLOUDSPACE_ID"),
            settings.Location ?? Variable("WHITESKY_LOCATION"), context), null);
    }

    public async ValueTask DisposeAsync()
    {
        Client.Dispose();
        if (Emulator is not null)
        {
            await Emulator.DisposeAsync();
        }
    }

    private static WhiteskyClient Create(Uri baseUrl, string jwt, string? customer, string? cloudspace, string? location, CommandContext context) =>
        WhiteskyClient.Create(new WhiteskyClientOptions
        {
            BaseUrl = baseUrl,
            Jwt = jwt,
            CustomerId = customer,
            CloudspaceId = cloudspace,
            Location = location,
            PollInterval = TimeSpan.FromMilliseconds(500),
        }, context.LoggerFactory);

    private static string? Variable(params string[] names) =>
        names.Select(Environment.GetEnvironmentVariable).FirstOrDefault(v => !string.IsNullOrWhiteSpace(v));

    /// <summary>The connection settings given on the command line (null: from the environment).</summary>
    internal sealed record Settings(string? Url, string? Token, string? Customer, string? Cloudspace, string? Location, string? EmulatorData);

    /// <summary>The options every path command takes.</summary>
    internal sealed class Options
    {
        private readonly Option<string?> _url = new("--url") { Description = "The whitesky API, e.g. https://cloud.example.com/api/1 (default: $WHITESKY_URL; neither: an embedded emulator).", HelpName = "URL" };
        private readonly Option<string?> _token = new("--token") { Description = "A JWT (default: $WHITESKY_TOKEN). Prefer the variable: arguments show in process lists.", HelpName = "JWT" };
        private readonly Option<string?> _customer = new("--customer") { Description = "The customer id (default: $WHITESKY_CUSTOMER).", HelpName = "ID" };
        private readonly Option<string?> _cloudspace = new("--cloudspace") { Description = "The cloudspace id (default: $WHITESKY_CLOUDSPACE).", HelpName = "ID" };
        private readonly Option<string?> _location = new("--location") { Description = "The location (default: $WHITESKY_LOCATION).", HelpName = "NAME" };
        private readonly Option<string?> _emulatorData = new("--emulator-data") { Description = "With the embedded emulator: keep its disk files and CD-ROM images in this folder.", HelpName = "DIR" };

        public void AddTo(Command command)
        {
            command.Options.Add(_url);
            command.Options.Add(_token);
            command.Options.Add(_customer);
            command.Options.Add(_cloudspace);
            command.Options.Add(_location);
            command.Options.Add(_emulatorData);
        }

        public Settings Read(ParseResult result) => new(result.GetValue(_url), result.GetValue(_token), result.GetValue(_customer),
            result.GetValue(_cloudspace), result.GetValue(_location), result.GetValue(_emulatorData));
    }
}
