using Microsoft.Extensions.Logging;

namespace Whitesky.Migrate.Cli;

/// <summary>What a running command writes to and logs through.</summary>
/// <param name="Output">Results (standard output, or a test's writer).</param>
/// <param name="Error">Errors, progress and summaries (standard error, or a test's writer).</param>
/// <param name="LoggerFactory">Console logging at Warning, or Debug with <c>--verbose</c>.</param>
/// <param name="Verbose">Whether <c>--verbose</c> was given.</param>
internal sealed record CommandContext(TextWriter Output, TextWriter Error, ILoggerFactory LoggerFactory, bool Verbose);
