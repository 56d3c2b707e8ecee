using Microsoft.Extensions.Logging;

namespace Whitesky.Migration.Paths.Recovery;

/// <summary>Source-generated log messages of the recovery boot path.</summary>
internal static partial class RecoveryBootLog
{
    [LoggerMessage(EventId = 420, Level = LogLevel.Information, Message = "Uploaded {Iso} as CD-ROM image {CdromId}: {Sent} part(s) sent, {Resumed} resumed")]
    public static partial void Uploaded(ILogger logger, string iso, long cdromId, int sent, int resumed);

    [LoggerMessage(EventId = 421, Level = LogLevel.Information, Message = "Created VM {VmId} with an empty {SizeGb} GB boot disk {DiskId}")]
    public static partial void VmCreated(ILogger logger, long vmId, long diskId, long sizeGb);

    [LoggerMessage(EventId = 422, Level = LogLevel.Information, Message = "VM {VmId} boots from disk {DiskId}; {Detached} CD-ROM image(s) detached")]
    public static partial void Finished(ILogger logger, long vmId, long diskId, int detached);
}
