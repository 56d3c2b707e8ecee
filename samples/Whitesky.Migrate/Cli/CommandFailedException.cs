namespace Whitesky.Migrate.Cli;

/// <summary>
/// A command cannot do what it was asked, for a reason the user can act on (a file larger than the
/// export, a meta context the server does not offer). Reported as its message, without a stack trace.
/// </summary>
public sealed class CommandFailedException : Exception
{
    /// <summary>Creates the exception.</summary>
    public CommandFailedException(string message) : base(message) { }

    /// <summary>Creates the exception with the error that caused it.</summary>
    public CommandFailedException(string message, Exception? innerException) : base(message, innerException) { }

    /// <summary>Creates the exception with a generic message.</summary>
    public CommandFailedException() : base("The command failed.") { }
}
