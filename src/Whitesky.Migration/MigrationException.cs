namespace Whitesky.Migration;

/// <summary>Base of every error the migration package raises; the message names what failed, where, and what to do.</summary>
public class MigrationException : IOException
{
    /// <summary>Creates an exception with a message.</summary>
    public MigrationException(string message) : base(message) { }

    /// <summary>Creates an exception with a message and the error that caused it.</summary>
    public MigrationException(string message, Exception? innerException) : base(message, innerException) { }
}
