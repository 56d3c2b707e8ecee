using Microsoft.Extensions.Logging;

namespace Whitesky.Migrate.Cli;

/// <summary>
/// Console logging (to standard error) that is built on the first message at an enabled level. At the
/// default Warning level most runs log nothing, and building the console logger costs about 20 ms of
/// start-up (a dozen assemblies), which is 3% of copying a 1 GiB image.
/// </summary>
internal sealed class OnDemandConsoleLoggerFactory : ILoggerFactory
{
    private readonly LogLevel _minimum;
    private readonly Lazy<ILoggerFactory> _console;

    public OnDemandConsoleLoggerFactory(LogLevel minimum, bool timestamps)
    {
        _minimum = minimum;
        _console = new Lazy<ILoggerFactory>(() => LoggerFactory.Create(builder => builder
            .SetMinimumLevel(minimum)
            .AddConsole(options => options.LogToStandardErrorThreshold = LogLevel.Trace)
            .AddSimpleConsole(options =>
            {
                options.SingleLine = true;
                options.TimestampFormat = timestamps ? "HH:mm:ss.fff " : null;
            })));
    }

    public ILogger CreateLogger(string categoryName) => new OnDemandLogger(this, categoryName);

    public void AddProvider(ILoggerProvider provider) => _console.Value.AddProvider(provider);

    public void Dispose()
    {
        if (_console.IsValueCreated)
        {
            _console.Value.Dispose();
        }
    }

    private sealed class OnDemandLogger(OnDemandConsoleLoggerFactory owner, string categoryName) : ILogger
    {
        private ILogger? _logger;

        private ILogger Logger => _logger ??= owner._console.Value.CreateLogger(categoryName);

        public IDisposable? BeginScope<TState>(TState state) where TState : notnull => Logger.BeginScope(state);

        public bool IsEnabled(LogLevel logLevel) => logLevel != LogLevel.None && logLevel >= owner._minimum;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            if (IsEnabled(logLevel))
            {
                Logger.Log(logLevel, eventId, state, exception, formatter);
            }
        }
    }
}
