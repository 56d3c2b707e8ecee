using System.CommandLine;
using System.Globalization;
using System.Net.Sockets;
using Whitesky.Emulator;

namespace Whitesky.Migrate.Cli;

/// <summary>
/// <c>emulator [--port N] [--data DIR] [--token-lifetime SECONDS]</c>: a local whitesky (Whitesky.Emulator) in the
/// foreground until Ctrl-C or SIGTERM. It prints <c>NAME=value</c> lines — base URL, IAM URL, ids and a JWT — that a
/// shell can <c>export</c>, so curl, the samples or any tool can be pointed at it.
/// </summary>
internal static class EmulatorCommand
{
    public static Command Create(Option<bool> verbose)
    {
        var port = new Option<int>("--port", "-p")
        {
            Description = "The TCP port on 127.0.0.1 (0: any free port). Default 0.",
            HelpName = "N",
        };
        var data = new Option<string?>("--data")
        {
            Description = "Folder for disk files, CD-ROM images and uploads, kept after exit. Default: a temporary folder removed on exit.",
            HelpName = "DIR",
        };
        var lifetime = new Option<int>("--token-lifetime")
        {
            Description = "Lifetime of issued JWTs in seconds. Default 3600.",
            HelpName = "SECONDS",
            DefaultValueFactory = _ => 3600,
        };
        var command = new Command("emulator", "Run a local whitesky (REST API, disks exposed over NBD TLS-PSK) in the foreground until Ctrl-C or SIGTERM.")
        {
            port,
            data,
            lifetime,
        };
        command.SetAction((parseResult, cancellationToken) => CommandExecution.RunAsync(parseResult, verbose,
            (context, ct) => RunAsync(context, parseResult.GetValue(port), parseResult.GetValue(data), parseResult.GetValue(lifetime), ct), cancellationToken));
        return command;
    }

    private static async Task<int> RunAsync(CommandContext context, int port, string? data, int lifetimeSeconds, CancellationToken cancellationToken)
    {
        if (port is < 0 or > 65535)
        {
            throw new CommandFailedException($"--port {port} is not a TCP port (0 to 65535).");
        }

        if (lifetimeSeconds < 1)
        {
            throw new CommandFailedException("--token-lifetime must be at least 1 second.");
        }

        WhiteskyEmulator emulator;
        try
        {
            emulator = await WhiteskyEmulator.StartAsync(new WhiteskyEmulatorOptions
            {
                Port = port,
                DataDirectory = data,
                TokenLifetime = TimeSpan.FromSeconds(lifetimeSeconds),
                LoggerFactory = context.LoggerFactory,
            }, cancellationToken);
        }
        catch (IOException ex) when (ex.InnerException is SocketException || ex.Message.Contains("address", StringComparison.OrdinalIgnoreCase))
        {
            throw new CommandFailedException(string.Create(CultureInfo.InvariantCulture, $"Cannot listen on 127.0.0.1 port {port}: {ex.Message}"), ex);
        }

        await using (emulator)
        {
            await context.Output.WriteLineAsync($"WHITESKY_BASE_URL={emulator.BaseUrl}");
            await context.Output.WriteLineAsync($"WHITESKY_IAM_URL={emulator.IamUrl}");
            await context.Output.WriteLineAsync($"WHITESKY_CUSTOMER_ID={emulator.CustomerId}");
            await context.Output.WriteLineAsync($"WHITESKY_CLOUDSPACE_ID={emulator.CloudspaceId}");
            await context.Output.WriteLineAsync($"WHITESKY_LOCATION={emulator.Location}");
            await context.Output.WriteLineAsync($"WHITESKY_EMULATOR_ADMIN_URL={emulator.AdminUrl}");
            await context.Output.WriteLineAsync($"WHITESKY_EMULATOR_DATA={emulator.DataDirectory}");
            await context.Output.WriteLineAsync($"WHITESKY_JWT={emulator.Jwt}");
            await context.Output.FlushAsync(CancellationToken.None);

            // Serving is the command's work: a signal ends it normally, so it is not reported as a cancellation.
            try
            {
                await Task.Delay(Timeout.Infinite, cancellationToken);
            }
            catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
            {
            }
        }

        return CommandExecution.Success;
    }
}
