using System.Globalization;

namespace Whitesky.Nbd;

/// <summary>
/// Base of every error the NBD client and server raise. When the failure is a server's error reply to
/// a command, <see cref="Error"/>, <see cref="Command"/>, <see cref="Offset"/> and
/// <see cref="Length"/> say which request failed and how.
/// </summary>
public class NbdException : IOException
{
    /// <summary>Creates an exception with a message.</summary>
    public NbdException(string message) : base(message) { }

    /// <summary>Creates an exception with a message and the error that caused it.</summary>
    public NbdException(string message, Exception? innerException) : base(message, innerException) { }

    /// <summary>Creates an exception for a server's error reply to a command.</summary>
    public NbdException(NbdError error, NbdCommand command, long offset, long length, string? serverMessage = null)
        : base(FormatCommandError(error, command, offset, length, serverMessage))
    {
        Error = error;
        Command = command;
        Offset = offset;
        Length = length;
        ServerMessage = serverMessage;
    }

    /// <summary>The errno value the server returned, or <see cref="NbdError.None"/> when the failure was not an error reply.</summary>
    public NbdError Error { get; }

    /// <summary>The errno name of <see cref="Error"/> (<c>EIO</c>, <c>ENOSPC</c>, ...), or <see langword="null"/>.</summary>
    public string? ErrorName => Error == NbdError.None ? null : NameOf(Error);

    /// <summary>The command that failed, when the failure belongs to one request.</summary>
    public NbdCommand? Command { get; }

    /// <summary>The offset of the failed request in bytes (or, for an <c>ERROR_OFFSET</c> chunk, where it failed).</summary>
    public long? Offset { get; }

    /// <summary>The length of the failed request in bytes.</summary>
    public long? Length { get; }

    /// <summary>The human-readable message the server attached to the error, if any.</summary>
    public string? ServerMessage { get; }

    /// <summary>The errno name of an NBD error value (unknown values as <c>E#&lt;n&gt;</c>).</summary>
    public static string NameOf(NbdError error) =>
        Enum.IsDefined(error) ? error.ToString() : "E#" + ((uint)error).ToString(CultureInfo.InvariantCulture);

    private static string FormatCommandError(NbdError error, NbdCommand command, long offset, long length, string? serverMessage)
    {
        var text = string.Create(CultureInfo.InvariantCulture,
            $"NBD server failed {CommandName(command)} at offset {offset} length {length}: {NameOf(error)}");
        return string.IsNullOrEmpty(serverMessage) ? text : text + " (" + Sanitize(serverMessage) + ")";
    }

    internal static string CommandName(NbdCommand command) => command switch
    {
        NbdCommand.Read => "READ",
        NbdCommand.Write => "WRITE",
        NbdCommand.Disconnect => "DISC",
        NbdCommand.Flush => "FLUSH",
        NbdCommand.Trim => "TRIM",
        NbdCommand.Cache => "CACHE",
        NbdCommand.WriteZeroes => "WRITE_ZEROES",
        NbdCommand.BlockStatus => "BLOCK_STATUS",
        NbdCommand.Resize => "RESIZE",
        _ => "command " + ((ushort)command).ToString(CultureInfo.InvariantCulture),
    };

    /// <summary>Keeps text that came from the peer printable and short before it enters a message.</summary>
    internal static string Sanitize(string text)
    {
        const int max = 256;
        var span = text.Length > max ? text.AsSpan(0, max) : text.AsSpan();
        return string.Create(span.Length, span.ToString(), static (dest, src) =>
        {
            for (var i = 0; i < src.Length; i++)
            {
                dest[i] = char.IsControl(src[i]) ? '?' : src[i];
            }
        }) + (text.Length > max ? "..." : string.Empty);
    }
}

/// <summary>
/// The peer broke the NBD protocol (bad magic, unknown cookie, a chunk outside its request, an
/// oversized or truncated reply, ...). The connection is unusable afterwards and is closed.
/// </summary>
public class NbdProtocolException : NbdException
{
    /// <summary>Creates the exception.</summary>
    public NbdProtocolException(string message) : base(message) { }

    /// <summary>Creates the exception with the error that caused it.</summary>
    public NbdProtocolException(string message, Exception? innerException) : base(message, innerException) { }
}

/// <summary>The connection could not be made, was lost, or a call timed out.</summary>
public class NbdConnectionException : NbdException
{
    /// <summary>Creates the exception.</summary>
    public NbdConnectionException(string message) : base(message) { }

    /// <summary>Creates the exception with the error that caused it.</summary>
    public NbdConnectionException(string message, Exception? innerException) : base(message, innerException) { }
}

/// <summary>
/// The server refused an option during the handshake (an unknown export, a policy refusal, an
/// unsupported feature). <see cref="ReplyName"/> is the spec's name of the reply (<c>NBD_REP_ERR_UNKNOWN</c>, ...).
/// </summary>
public class NbdOptionException : NbdException
{
    /// <summary>Creates the exception.</summary>
    public NbdOptionException(string message, string replyName, string? serverMessage) : base(message)
    {
        ReplyName = replyName;
        ServerMessageText = serverMessage;
    }

    /// <summary>The spec's name of the server's error reply, e.g. <c>NBD_REP_ERR_UNKNOWN</c>.</summary>
    public string ReplyName { get; }

    /// <summary>The text the server sent with the error reply, if any.</summary>
    public string? ServerMessageText { get; }
}

/// <summary>Why a TLS connection failed.</summary>
public enum NbdTlsFailure
{
    /// <summary>The server does not offer TLS (refused <c>NBD_OPT_STARTTLS</c>) while TLS was required.</summary>
    RefusedByServer,
    /// <summary>The peers could not authenticate each other: a wrong pre-shared key or identity, or an untrusted certificate.</summary>
    AuthenticationFailed,
    /// <summary>The TLS handshake failed for another reason (no common version or cipher suite, a broken peer).</summary>
    HandshakeFailed,
    /// <summary>The server demands TLS but the client was told not to use it.</summary>
    RequiredByServer,
}

/// <summary>A TLS failure; <see cref="Failure"/> says whether the key was wrong or TLS was refused.</summary>
public class NbdTlsException : NbdException
{
    /// <summary>Creates the exception.</summary>
    public NbdTlsException(NbdTlsFailure failure, string message, Exception? innerException = null)
        : base(message, innerException) => Failure = failure;

    /// <summary>What went wrong.</summary>
    public NbdTlsFailure Failure { get; }
}
