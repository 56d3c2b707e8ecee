using Whitesky.Migrate.Cli;

// An NBD server's socket completions are short (parse, copy, queue a reply): running them on the socket
// engine's thread instead of handing each to the thread pool cut `serve`'s CPU by about a sixth and its
// copy time over a Unix socket from 1.03 s to 0.89 s (benchmarks/compare/nbd-server.sh). Not with TLS:
// TLS-PSK writes block their thread in the socket, and a blocked engine thread would wait for its own
// writability event (a deadlock seen in that benchmark). The runtime reads the variable once, at its first
// socket operation, so it must be set before anything else runs.
if (args.Length > 0 && args[0] == "serve" && !args.Contains("--tls-psk")
    && Environment.GetEnvironmentVariable("DOTNET_SYSTEM_NET_SOCKETS_INLINE_COMPLETIONS") is null)
{
    Environment.SetEnvironmentVariable("DOTNET_SYSTEM_NET_SOCKETS_INLINE_COMPLETIONS", "1");
}

using var signals = new TerminationSignals();
return await MigrateCommandLine.InvokeAsync(args, cancellationToken: signals.Token);
