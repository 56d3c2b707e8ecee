using Microsoft.Extensions.Logging;

namespace Whitesky.Migration.Paths.Streaming;

/// <summary>Source-generated log messages of the streaming import (ids and sizes only, never a key).</summary>
internal static partial class StreamingImportLog
{
    [LoggerMessage(EventId = 400, Level = LogLevel.Information, Message = "Importing {Image} ({Format}, {Bytes} bytes, {Scheme} partition table, boot mode {BootMode}) into a {SizeGb} GB disk")]
    public static partial void Inspected(ILogger logger, string image, string format, long bytes, string scheme, string bootMode, long sizeGb);

    [LoggerMessage(EventId = 401, Level = LogLevel.Information, Message = "Created disk {DiskId} for {Image}")]
    public static partial void DiskCreated(ILogger logger, long diskId, string image);

    [LoggerMessage(EventId = 402, Level = LogLevel.Information, Message = "Continuing {Image} into existing disk {DiskId}")]
    public static partial void DiskResumed(ILogger logger, string image, long diskId);

    [LoggerMessage(EventId = 403, Level = LogLevel.Debug, Message = "Disk {DiskId} exposed at {Address}:{Port} export '{Export}' with up to {MaxConnections} connection(s)")]
    public static partial void Exposed(ILogger logger, long diskId, string address, long port, string export, int maxConnections);

    [LoggerMessage(EventId = 404, Level = LogLevel.Information, Message = "Disk {DiskId}: GPT backup header moved from byte {From} to byte {To}")]
    public static partial void GptMoved(ILogger logger, long diskId, long? from, long? to);

    [LoggerMessage(EventId = 405, Level = LogLevel.Debug, Message = "Disk {DiskId} unexposed")]
    public static partial void Unexposed(ILogger logger, long diskId);

    [LoggerMessage(EventId = 406, Level = LogLevel.Warning, Message = "Cleaning up after a failed import: {Problem}")]
    public static partial void CleanupFailed(ILogger logger, string problem);

    [LoggerMessage(EventId = 407, Level = LogLevel.Information, Message = "Deleted disk {DiskId} after the import failed")]
    public static partial void DiskDeleted(ILogger logger, long diskId);

    [LoggerMessage(EventId = 408, Level = LogLevel.Information, Message = "Created VM {VmId} ({BootType}) with boot disk {BootDiskId} and {DataDisks} data disk(s)")]
    public static partial void VmCreated(ILogger logger, long vmId, string bootType, long bootDiskId, int dataDisks);

    [LoggerMessage(EventId = 409, Level = LogLevel.Information, Message = "Attached disk {DiskId} to VM {VmId}")]
    public static partial void Attached(ILogger logger, long diskId, long vmId);
}
