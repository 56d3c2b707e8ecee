using System.Globalization;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Whitesky.DiskFormats;

namespace Whitesky.Migration.Transfer;

/// <summary>
/// Copies a virtual disk into a block sink the way a migration needs it: only allocated data is read and sent,
/// zeroes are skipped on a target that reads as zero or zeroed with the cheapest request otherwise, a window of
/// requests stays in flight (across the sink's connections) with pooled buffers, and one FLUSH follows the last
/// write. With a checkpoint store a restarted transfer sends only what is missing; with
/// <see cref="DiskTransferOptions.Verify"/> the target is read back and compared with the source's hashes.
/// </summary>
/// <remarks>One instance may run several transfers, one after the other or at once; each call is independent.</remarks>
public sealed class DiskTransfer
{
    /// <summary>The name of the <see cref="System.Diagnostics.Metrics.Meter"/> the engine reports to.</summary>
    public const string MeterName = TransferMetrics.MeterName;

    private readonly DiskTransferOptions _options;
    private readonly ILogger _logger;

    /// <summary>Creates an engine with <paramref name="options"/> (defaults when null).</summary>
    public DiskTransfer(DiskTransferOptions? options = null, ILoggerFactory? loggerFactory = null)
    {
        _options = options ?? new DiskTransferOptions();
        _options.Validate();
        _logger = (ILogger?)loggerFactory?.CreateLogger<DiskTransfer>() ?? NullLogger.Instance;
    }

    /// <summary>Raised once per <see cref="DiskTransferOptions.ProgressInterval"/>, on each phase change and at the end.</summary>
    public event EventHandler<TransferProgress>? ProgressChanged;

    /// <summary>Copies a random-access disk: the extent map plans the work, and data is read (decoded) in parallel.</summary>
    /// <exception cref="TransferException">The source cannot be read, the target does not fit or failed for good.</exception>
    /// <exception cref="TransferVerificationException">Verification found ranges that differ.</exception>
    /// <exception cref="OperationCanceledException">Cancelled; the checkpoint holds what was done.</exception>
    public async Task<TransferSummary> CopyAsync(IVirtualDisk source, IBlockSink target, IProgress<TransferProgress>? progress = null,
        CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(source);
        ArgumentNullException.ThrowIfNull(target);
        var run = new TransferRun(_options, _logger, source.Describe(), source.Capacity, target, p => Report(p, progress));
        return await run.RunAsync(source, null, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// Copies only <paramref name="ranges"/> of a random-access disk (an incremental replication pass): each range is
    /// read whole and written through the same pooled window of requests; inside the ranges the target is not assumed
    /// to read as zero (all-zero blocks are zeroed), outside them it is left untouched. Ranges must be sorted and not
    /// overlap; they are widened to the target's block size. No checkpoint is kept (a range copy is repeated whole).
    /// </summary>
    /// <exception cref="TransferException">The source cannot be read, the target does not fit or failed for good.</exception>
    /// <exception cref="TransferVerificationException">Verification found ranges that differ.</exception>
    /// <exception cref="OperationCanceledException">Cancelled.</exception>
    public async Task<TransferSummary> CopyRangesAsync(IVirtualDisk source, IReadOnlyList<TransferRange> ranges, IBlockSink target,
        IProgress<TransferProgress>? progress = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(source);
        ArgumentNullException.ThrowIfNull(ranges);
        ArgumentNullException.ThrowIfNull(target);
        var run = new TransferRun(_options, _logger, source.Describe(), source.Capacity, target, p => Report(p, progress));
        return await run.RunRangesAsync(source, ranges, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Copies a sequential disk (a stream decoded once, in one pass); decoding runs while earlier chunks are sent.</summary>
    /// <exception cref="TransferException">The source cannot be read, the target does not fit or failed for good.</exception>
    /// <exception cref="TransferVerificationException">Verification found ranges that differ.</exception>
    /// <exception cref="OperationCanceledException">Cancelled; the checkpoint holds what was done.</exception>
    public async Task<TransferSummary> CopyAsync(ISequentialDisk source, IBlockSink target, IProgress<TransferProgress>? progress = null,
        CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(source);
        ArgumentNullException.ThrowIfNull(target);
        var run = new TransferRun(_options, _logger, source.Describe(), source.Capacity, target, p => Report(p, progress));
        return await run.RunAsync(null, source, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>The key a checkpoint of this source and target is saved under.</summary>
    internal static string CheckpointKey(DiskInfo source, string? sourceIdentity, IBlockSink target, string? targetIdentity) =>
        string.Create(CultureInfo.InvariantCulture,
            $"source={sourceIdentity ?? $"{source.Name}|{source.Format}|{source.Subformat}|{source.VirtualSize}|{source.FileSize}"};target={targetIdentity ?? $"{target.Name}|{target.Capacity}"}");

    private void Report(TransferProgress snapshot, IProgress<TransferProgress>? progress)
    {
        progress?.Report(snapshot);
        ProgressChanged?.Invoke(this, snapshot);
    }
}
