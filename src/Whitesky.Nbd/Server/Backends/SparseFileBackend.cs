using System.Globalization;
using System.Runtime.CompilerServices;
using System.Runtime.Versioning;
using Microsoft.Win32.SafeHandles;

namespace Whitesky.Nbd.Server;

/// <summary>
/// An export stored in a sparse file on Linux (like nbdkit's <c>file</c> plugin): positional reads and writes
/// through <see cref="RandomAccess"/>, <c>WRITE_ZEROES</c> and <c>TRIM</c> punch holes with <c>fallocate(2)</c>,
/// block status comes from <c>lseek(SEEK_DATA / SEEK_HOLE)</c>, and <c>FLUSH</c> is <c>fdatasync(2)</c>.
/// </summary>
/// <remarks>
/// <para>Every call is safe to make concurrently: all I/O is positional, so there are no locks.</para>
/// <para>
/// Zeroing: with <c>mayPunchHole</c> the range is punched out (<c>FALLOC_FL_PUNCH_HOLE</c>, which also zeroes the
/// partial blocks at unaligned edges); with <c>NBD_CMD_FLAG_NO_HOLE</c> it is zeroed in place and stays allocated
/// (<c>FALLOC_FL_ZERO_RANGE</c>). Where the file system cannot do that (tmpfs, for example) zero buffers are
/// written, and a <c>FAST_ZERO</c> request is refused with <see cref="NbdError.ENOTSUP"/> instead.
/// </para>
/// <para>
/// A full disk or quota is answered with <see cref="NbdError.ENOSPC"/>; other failures throw
/// <see cref="NbdBackendException"/> with the closest NBD error and the file, offset and OS message.
/// </para>
/// </remarks>
[SupportedOSPlatform("linux")]
public sealed class SparseFileBackend : NbdBackend
{
    /// <summary>The most extents one <see cref="GetAllocationAsync"/> returns; the client asks again for the rest.</summary>
    internal const int MaxExtentsPerCall = 1024;

    private const uint HoleAndZero = NbdExtent.HoleFlag | NbdExtent.ZeroFlag;

    private readonly SafeFileHandle _file;
    private readonly bool _readOnly;
    private readonly bool _canPunchHole;
    private volatile bool _canZeroRange;

    private SparseFileBackend(SafeFileHandle file, string path, long size, bool readOnly)
    {
        _file = file;
        Path = path;
        Size = size;
        _readOnly = readOnly;
        _canPunchHole = !readOnly && ProbePunchHole(file, size);
        // ZERO_RANGE cannot be probed without allocating blocks, so it is assumed until the file system refuses it.
        _canZeroRange = !readOnly;
    }

    /// <summary>
    /// Opens an existing file as an export of its current size.
    /// </summary>
    /// <param name="path">The file to serve.</param>
    /// <param name="readOnly">Open it read-only: writes, zeroes and trims are refused with <see cref="NbdError.EPERM"/>.</param>
    /// <returns>The backend; dispose it to close the file.</returns>
    /// <exception cref="PlatformNotSupportedException">Not 64-bit Linux.</exception>
    /// <exception cref="IOException">The file cannot be opened (missing, locked by another .NET process).</exception>
    /// <exception cref="UnauthorizedAccessException">No permission to open it (or it is a folder).</exception>
    public static SparseFileBackend Open(string path, bool readOnly = false)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        ThrowIfUnsupported();
        var fullPath = System.IO.Path.GetFullPath(path);
        var file = File.OpenHandle(fullPath, FileMode.Open, readOnly ? FileAccess.Read : FileAccess.ReadWrite, FileShare.Read);
        try
        {
            return new SparseFileBackend(file, fullPath, RandomAccess.GetLength(file), readOnly);
        }
        catch
        {
            file.Dispose();
            throw;
        }
    }

    /// <summary>
    /// Creates a new file of <paramref name="size"/> bytes that is one hole (it takes no disk space until written)
    /// and opens it read-write.
    /// </summary>
    /// <param name="path">The file to create; it must not exist yet.</param>
    /// <param name="size">The size of the export in bytes.</param>
    /// <returns>The backend; dispose it to close the file.</returns>
    /// <exception cref="PlatformNotSupportedException">Not 64-bit Linux.</exception>
    /// <exception cref="IOException">The file exists already, or cannot be created or grown to <paramref name="size"/>.</exception>
    public static SparseFileBackend Create(string path, long size)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        ArgumentOutOfRangeException.ThrowIfNegative(size);
        ThrowIfUnsupported();
        var fullPath = System.IO.Path.GetFullPath(path);
        var file = File.OpenHandle(fullPath, FileMode.CreateNew, FileAccess.ReadWrite, FileShare.Read);
        try
        {
            RandomAccess.SetLength(file, size);
            return new SparseFileBackend(file, fullPath, size, readOnly: false);
        }
        catch
        {
            file.Dispose();
            File.Delete(fullPath);
            throw;
        }
    }

    /// <summary>The full path of the file.</summary>
    public string Path { get; }

    /// <inheritdoc />
    public override long Size { get; }

    /// <inheritdoc />
    public override bool IsReadOnly => _readOnly;

    /// <summary>Whether the file system punches holes (probed when the file was opened); trims are then real.</summary>
    public override bool CanTrim => _canPunchHole;

    /// <summary>Whether zeroing can punch holes; a <c>NO_HOLE</c> zero may still be refused as slow (see the remarks of the class).</summary>
    public override bool CanFastZero => _canPunchHole;

    /// <summary>True unless read-only: <see cref="FlushAsync"/> is <c>fdatasync(2)</c>, and writes accept <c>FUA</c>.</summary>
    public override bool CanFlush => !_readOnly;

    /// <summary>True: holes are found with <c>lseek(SEEK_DATA / SEEK_HOLE)</c>.</summary>
    public override bool CanReportAllocation => true;

    /// <inheritdoc />
    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder))]
    public override async ValueTask ReadAsync(long offset, Memory<byte> buffer, CancellationToken cancellationToken)
    {
        var length = buffer.Length;
        var position = offset;
        while (!buffer.IsEmpty)
        {
            int read;
            try
            {
                read = await RandomAccess.ReadAsync(_file, buffer, position, cancellationToken).ConfigureAwait(false);
            }
            catch (IOException ex) when (ex is not NbdException)
            {
                throw Failure("READ", offset, length, ex);
            }

            if (read == 0)
            {
                // Someone shrank the file under us: past its end it reads as zeroes, as a hole would.
                buffer.Span.Clear();
                return;
            }

            buffer = buffer[read..];
            position += read;
        }
    }

    /// <inheritdoc />
    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder))]
    public override async ValueTask WriteAsync(long offset, ReadOnlyMemory<byte> data, bool fua, CancellationToken cancellationToken)
    {
        ThrowIfReadOnly("WRITE");
        try
        {
            await RandomAccess.WriteAsync(_file, data, offset, cancellationToken).ConfigureAwait(false);
        }
        catch (IOException ex) when (ex is not NbdException)
        {
            throw Failure("WRITE", offset, data.Length, ex);
        }

        if (fua)
        {
            await FlushAsync(cancellationToken).ConfigureAwait(false);
        }
    }

    /// <inheritdoc />
    public override async ValueTask WriteZeroesAsync(long offset, long length, bool mayPunchHole, bool fastOnly, bool fua, CancellationToken cancellationToken)
    {
        ThrowIfReadOnly("WRITE_ZEROES");
        if (length <= 0)
        {
            return;
        }

        var zeroed = await Task.Run(() => TryZeroInPlace(offset, length, mayPunchHole), cancellationToken).ConfigureAwait(false);
        if (!zeroed)
        {
            if (fastOnly)
            {
                throw new NbdBackendException(NbdError.ENOTSUP, string.Create(CultureInfo.InvariantCulture,
                    $"{Path}: the file system cannot zero {length} bytes at offset {offset} without writing them{(mayPunchHole ? "" : " (NO_HOLE)")}"));
            }

            await WriteZeroBuffersAsync(offset, length, cancellationToken).ConfigureAwait(false);
        }

        if (fua)
        {
            await FlushAsync(cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>Punches a hole where the file system can (the range then reads as zeroes); otherwise does nothing, as a trim may.</summary>
    public override async ValueTask TrimAsync(long offset, long length, bool fua, CancellationToken cancellationToken)
    {
        ThrowIfReadOnly("TRIM");
        if (length > 0 && _canPunchHole)
        {
            await Task.Run(() => Fallocate("TRIM", LinuxFile.FALLOC_FL_PUNCH_HOLE | LinuxFile.FALLOC_FL_KEEP_SIZE, offset, length), cancellationToken)
                .ConfigureAwait(false);
        }

        if (fua)
        {
            await FlushAsync(cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>Makes every completed write durable with <c>fdatasync(2)</c> (data and the metadata needed to read it back).</summary>
    public override async ValueTask FlushAsync(CancellationToken cancellationToken)
    {
        if (_readOnly)
        {
            return;
        }

        var errno = await Task.Run(() => LinuxFile.Fdatasync(_file), cancellationToken).ConfigureAwait(false);
        if (errno != 0)
        {
            throw Failure("FLUSH", 0, Size, errno, null);
        }
    }

    /// <summary>
    /// Data runs as flags 0 and holes as <see cref="NbdExtent.HoleFlag"/> | <see cref="NbdExtent.ZeroFlag"/>, at most
    /// 1024 extents per call. File systems that cannot tell report everything as data.
    /// </summary>
    public override ValueTask<IReadOnlyList<NbdExtent>> GetAllocationAsync(long offset, long length, CancellationToken cancellationToken)
    {
        var end = offset + length;
        var extents = new List<NbdExtent>();
        var position = offset;
        while (position < end && extents.Count < MaxExtentsPerCall)
        {
            var data = LinuxFile.Seek(_file, position, LinuxFile.SEEK_DATA, out var errno);
            if (data < 0)
            {
                // ENXIO: no data at or after the position, only the hole that ends every file.
                data = errno == LinuxFile.ENXIO ? end : throw Failure("BLOCK_STATUS", offset, length, errno, null);
            }

            if (data > position)
            {
                var holeEnd = Math.Min(data, end);
                extents.Add(new NbdExtent(position, holeEnd - position, HoleAndZero));
                position = holeEnd;
                continue;
            }

            var hole = LinuxFile.Seek(_file, position, LinuxFile.SEEK_HOLE, out errno);
            if (hole < 0 && errno != LinuxFile.ENXIO)
            {
                throw Failure("BLOCK_STATUS", offset, length, errno, null);
            }

            // A hole at or before the position would contradict SEEK_DATA (the file changed in between): call the rest data.
            var dataEnd = hole <= position ? end : Math.Min(hole, end);
            extents.Add(new NbdExtent(position, dataEnd - position, 0));
            position = dataEnd;
        }

        return ValueTask.FromResult<IReadOnlyList<NbdExtent>>(extents);
    }

    /// <summary>Closes the file.</summary>
    public override ValueTask DisposeAsync()
    {
        _file.Dispose();
        return base.DisposeAsync();
    }

    /// <summary>The exception for a failed call: the NBD error for the OS error, and what failed where.</summary>
    private NbdBackendException Failure(string command, long offset, long length, IOException exception) =>
        Failure(command, offset, length, LinuxFile.ErrnoOf(exception), exception);

    private NbdBackendException Failure(string command, long offset, long length, int errno, IOException? exception)
    {
        var reason = exception?.Message ?? System.Runtime.InteropServices.Marshal.GetPInvokeErrorMessage(errno);
        return new NbdBackendException(errno == 0 ? NbdError.EIO : LinuxFile.ToNbdError(errno), string.Create(CultureInfo.InvariantCulture,
            $"{command} of {Path} at offset {offset} length {length} failed: {reason}"));
    }

    private bool TryZeroInPlace(long offset, long length, bool mayPunchHole)
    {
        if (mayPunchHole && _canPunchHole
            && Fallocate("WRITE_ZEROES", LinuxFile.FALLOC_FL_PUNCH_HOLE | LinuxFile.FALLOC_FL_KEEP_SIZE, offset, length))
        {
            return true;
        }

        if (_canZeroRange)
        {
            if (Fallocate("WRITE_ZEROES", LinuxFile.FALLOC_FL_ZERO_RANGE | LinuxFile.FALLOC_FL_KEEP_SIZE, offset, length))
            {
                return true;
            }

            _canZeroRange = false;
        }

        return false;
    }

    /// <summary>Runs <c>fallocate</c>: true when done, false when the file system does not do <paramref name="mode"/>.</summary>
    private bool Fallocate(string command, int mode, long offset, long length)
    {
        var errno = LinuxFile.Fallocate(_file, mode, offset, length);
        return errno == 0 || (LinuxFile.IsUnsupported(errno) ? false : throw Failure(command, offset, length, errno, null));
    }

    private async ValueTask WriteZeroBuffersAsync(long offset, long length, CancellationToken cancellationToken)
    {
        var zeroes = ZeroBuffer.Bytes;
        for (long done = 0; done < length;)
        {
            var part = (int)Math.Min(zeroes.Length, length - done);
            try
            {
                await RandomAccess.WriteAsync(_file, zeroes.AsMemory(0, part), offset + done, cancellationToken).ConfigureAwait(false);
            }
            catch (IOException ex) when (ex is not NbdException)
            {
                throw Failure("WRITE_ZEROES", offset, length, ex);
            }

            done += part;
        }
    }

    private void ThrowIfReadOnly(string command)
    {
        if (_readOnly)
        {
            throw new NbdBackendException(NbdError.EPERM, $"{command} refused: {Path} is open read-only");
        }
    }

    /// <summary>
    /// Punching a hole past the end of the file with <c>KEEP_SIZE</c> changes nothing, yet fails on a file system
    /// (or a kind of file) that cannot punch at all.
    /// </summary>
    private static bool ProbePunchHole(SafeFileHandle file, long size) =>
        size <= long.MaxValue - 4096
        && LinuxFile.Fallocate(file, LinuxFile.FALLOC_FL_PUNCH_HOLE | LinuxFile.FALLOC_FL_KEEP_SIZE, size, 4096) == 0;

    private static void ThrowIfUnsupported()
    {
        if (!LinuxFile.IsSupported)
        {
            throw new PlatformNotSupportedException("SparseFileBackend needs 64-bit Linux (fallocate and lseek SEEK_DATA / SEEK_HOLE).");
        }
    }

    /// <summary>Zeroes written where the file system cannot zero in place; never written to, so shared by every thread.</summary>
    private static class ZeroBuffer
    {
        internal static readonly byte[] Bytes = new byte[1024 * 1024];
    }
}
