using System.Diagnostics;
using Microsoft.Extensions.Logging;
using Whitesky.Migrate.Cli;
using Whitesky.Nbd;

namespace Whitesky.Migrate.Copy;

/// <summary>
/// Copies a raw disk image file into an NBD export, like <c>nbdcopy FILE URI</c>: only the file's data is
/// read (holes are found with <c>SEEK_DATA</c>/<c>SEEK_HOLE</c>), all-zero blocks are detected, and
/// nothing is sent for zeroes when the target already reads as zero.
/// </summary>
internal sealed class RawFileCopier
{
    private readonly NbdClient _target;
    private readonly RawFileCopyOptions _options;
    private readonly ILogger _logger;

    public RawFileCopier(NbdClient target, RawFileCopyOptions options, ILogger logger)
    {
        _target = target;
        _options = options;
        _logger = logger;
    }

    /// <summary>Live counters, for progress reports.</summary>
    public CopyStatistics Statistics { get; } = new();

    /// <exception cref="CommandFailedException">The file does not fit the export, or the export is read-only.</exception>
    public async Task<CopyResult> CopyAsync(string path, CancellationToken cancellationToken)
    {
        using var file = File.OpenHandle(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite, FileOptions.SequentialScan);
        var export = _target.Export;
        var fileSize = RandomAccess.GetLength(file);
        var alignment = export.MinimumBlockSize;
        var length = (fileSize + alignment - 1) / alignment * alignment;
        if (length > export.Size)
        {
            throw new CommandFailedException(
                $"The source file {path} is {fileSize} bytes ({ByteSize.Format(fileSize)}), larger than export '{export.Name}' of {export.Size} bytes ({ByteSize.Format(export.Size)}); resize the target first.");
        }

        if (export.IsReadOnly)
        {
            throw new CommandFailedException($"Export '{export.Name}' is read-only; cannot copy into it.");
        }

        var requestSize = ChooseRequestSize(export);
        var extents = SparseFileMap.Read(file, fileSize, length, alignment, _logger);
        var targetIsZero = await TargetZeroProbe.ReadsAsZeroAsync(_target, length, _logger, cancellationToken);
        var zeroer = new TargetZeroer(_target, requestSize, _logger);
        var window = _options.MaxRequestsInFlight;
        using var buffers = new RequestBufferPool(requestSize, (int)Math.Clamp(_options.BufferMemory / requestSize, 1, window));
        Statistics.TotalBytes = length;
        CopyLog.Plan(_logger, path, fileSize, extents.Where(e => e.IsData).Sum(e => e.Length), extents.Count(e => e.IsData), export.Name, export.Size,
            _target.ConnectionCount, window, requestSize, buffers.Count, targetIsZero, zeroer.Method.ToString());

        var stopwatch = Stopwatch.StartNew();
        var pipeline = new CopyPipeline(_target, file, buffers, zeroer, Statistics, targetIsZero,
            Math.Max(_options.ZeroBlockSize, alignment), window);
        await pipeline.RunAsync(extents, cancellationToken);
        if (_options.Flush)
        {
            if (export.CanFlush)
            {
                await _target.FlushAsync(cancellationToken);
            }
            else
            {
                CopyLog.FlushUnsupported(_logger);
            }
        }

        return new CopyResult(Statistics.DataBytes, Statistics.ZeroBytesWritten, Statistics.ZeroBytesSkipped, stopwatch.Elapsed);
    }

    private int ChooseRequestSize(NbdExportInfo export)
    {
        var maximum = export.MaximumPayloadSize;
        long size = _options.RequestSize ?? Math.Min(maximum, RawFileCopyOptions.DefaultRequestSize);
        if (size > maximum)
        {
            CopyLog.RequestSizeClipped(_logger, size, maximum);
            size = maximum;
        }

        if (size < export.MinimumBlockSize || size % export.MinimumBlockSize != 0)
        {
            throw new CommandFailedException(
                $"--request-size {size} must be a multiple of the export's minimum block size of {export.MinimumBlockSize} bytes.");
        }

        return (int)size;
    }
}
