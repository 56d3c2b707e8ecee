using Whitesky.Migrate.Cli;

using var signals = new TerminationSignals();
return await MigrateCommandLine.InvokeAsync(args, cancellationToken: signals.Token);
