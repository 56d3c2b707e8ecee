using Microsoft.Extensions.Logging;
using Whitesky.Emulator.Importing;

namespace Whitesky.Emulator;

/// <summary>How a <see cref="WhiteskyEmulator"/> listens, where it keeps its disks and who it pretends to be.</summary>
public sealed record WhiteskyEmulatorOptions
{
    /// <summary>TCP port on 127.0.0.1 for the REST API; 0 (the default) picks a free one.</summary>
    public int Port { get; init; }

    /// <summary>
    /// Folder for disk files, CD-ROM images and upload parts. Null (the default): a new temporary folder, removed
    /// when the emulator is disposed. A given folder is kept.
    /// </summary>
    public string? DataDirectory { get; init; }

    /// <summary>Lifetime of the JWTs the emulator issues (its <c>exp</c> claim). Default 1 hour; make it short to exercise refresh.</summary>
    public TimeSpan TokenLifetime { get; init; } = TimeSpan.FromHours(1);

    /// <summary>The one customer the emulator serves.</summary>
    public string CustomerId { get; init; } = "emulator-customer";

    /// <summary>The customer's one cloudspace.</summary>
    public string CloudspaceId { get; init; } = "emulator-cloudspace";

    /// <summary>The cloudspace's location (the <c>location</c> of disk and CD-ROM routes).</summary>
    public string Location { get; init; } = "emulator-location";

    /// <summary>The user name in the issued JWTs.</summary>
    public string UserName { get; init; } = "emulator-user";

    /// <summary>The <c>part_size</c> a CD-ROM multipart upload is given (bytes). Default 8 MiB; parts larger than it are refused.</summary>
    public int CdromPartSize { get; init; } = 8 * 1024 * 1024;

    /// <summary>
    /// Imports VMs for <c>import-vm-s3</c>. Null (the default): the operation answers 501 Not Implemented.
    /// </summary>
    public IVmImporter? VmImporter { get; init; }

    /// <summary>The clock for JWT issue and expiry times (tests may pass a fake one). Default the system clock.</summary>
    public TimeProvider TimeProvider { get; init; } = TimeProvider.System;

    /// <summary>Logging of the web host and the NBD servers; nothing is logged when null.</summary>
    public ILoggerFactory? LoggerFactory { get; init; }

    internal void Validate()
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(Port, 0, nameof(Port));
        ArgumentOutOfRangeException.ThrowIfGreaterThan(Port, 65535, nameof(Port));
        ArgumentOutOfRangeException.ThrowIfLessThan(TokenLifetime, TimeSpan.FromSeconds(1), nameof(TokenLifetime));
        ArgumentException.ThrowIfNullOrEmpty(CustomerId, nameof(CustomerId));
        ArgumentException.ThrowIfNullOrEmpty(CloudspaceId, nameof(CloudspaceId));
        ArgumentException.ThrowIfNullOrEmpty(Location, nameof(Location));
        ArgumentException.ThrowIfNullOrEmpty(UserName, nameof(UserName));
        ArgumentOutOfRangeException.ThrowIfLessThan(CdromPartSize, 4096, nameof(CdromPartSize));
        ArgumentOutOfRangeException.ThrowIfGreaterThan(CdromPartSize, 64 * 1024 * 1024, nameof(CdromPartSize));
        ArgumentNullException.ThrowIfNull(TimeProvider, nameof(TimeProvider));
    }
}
