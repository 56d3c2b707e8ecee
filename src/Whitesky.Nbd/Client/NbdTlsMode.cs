namespace Whitesky.Nbd;

/// <summary>Whether the client uses TLS. There is deliberately no opportunistic mode: it invites downgrades.</summary>
public enum NbdTlsMode
{
    /// <summary>Plaintext. A server that demands TLS fails the handshake with <see cref="NbdTlsFailure.RequiredByServer"/>.</summary>
    Disabled,

    /// <summary>
    /// TLS is required: <c>NBD_OPT_STARTTLS</c> is the first option, anything but its ACK aborts the
    /// connection, and nothing is ever sent in plaintext after it. Uses TLS-PSK when
    /// <see cref="NbdClientOptions.TlsPsk"/> is set, X.509 otherwise.
    /// </summary>
    Required,
}
