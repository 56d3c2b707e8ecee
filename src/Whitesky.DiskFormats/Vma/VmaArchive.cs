using System.Buffers;
using System.Runtime.CompilerServices;
using Whitesky.DiskFormats.Containers;

namespace Whitesky.DiskFormats.Vma;

/// <summary>
/// A Proxmox vzdump backup (<c>.vma</c>, <c>.vma.gz</c>, <c>.vma.zst</c>) read in one forward pass over a stream that
/// need not seek (a pipe, an HTTP or S3 GET). The header is read when the archive is opened; the devices' data
/// follows as extents in which devices interleave and clusters come in the order the backup read them, so
/// <see cref="ReadChunksAsync"/> yields chunks of all devices, each with its device and offset. Every check the
/// Proxmox <c>vma</c> tool makes is made: md5 of the header and of every extent header, the archive's uuid in every
/// extent, dev_id in the device table, cluster inside its device, no cluster twice, and at the end every cluster of
/// every device seen (a truncated archive fails instead of reading as zeroes).
/// </summary>
public sealed class VmaArchive : IAsyncDisposable
{
    private readonly Stream _stream;
    private readonly Stream? _compressed;
    private int _enumerated;

    private VmaArchive(Stream stream, Stream? compressed, string name, string? compression, VmaHeader header)
    {
        _stream = stream;
        _compressed = compressed;
        Name = name;
        Compression = compression;
        Header = header;
    }

    /// <summary>A name for messages (the file name).</summary>
    public string Name { get; }

    /// <summary>The compression of the whole archive (<c>gzip</c>, <c>zstd</c>), or null.</summary>
    public string? Compression { get; }

    /// <summary>The archive's header: uuid, time, devices, config files.</summary>
    public VmaHeader Header { get; }

    /// <summary>
    /// Reads the header of the archive in <paramref name="stream"/>, decompressing it when it is gzip or zstd. Unless
    /// <paramref name="leaveOpen"/>, disposing the archive disposes the stream.
    /// </summary>
    /// <exception cref="DiskFormatException">The stream is not a VMA archive, or its header is corrupt.</exception>
    public static async Task<VmaArchive> OpenAsync(Stream stream, string name, bool leaveOpen = false, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(stream);
        ArgumentException.ThrowIfNullOrEmpty(name);
        var outer = new PeekStream(stream, name, ownsInner: !leaveOpen);
        var decoded = outer;
        try
        {
            var compression = StreamMagic.Compression((await outer.PeekAsync(StreamMagic.ProbeLength, cancellationToken).ConfigureAwait(false)).Span, name);
            if (compression is not null)
            {
                decoded = StreamMagic.Decompress(outer, compression);
            }

            var header = await ReadHeaderAsync(decoded, name, cancellationToken).ConfigureAwait(false);
            return new VmaArchive(decoded, ReferenceEquals(decoded, outer) ? null : outer, name, compression, header);
        }
        catch
        {
            if (!ReferenceEquals(decoded, outer))
            {
                await decoded.DisposeAsync().ConfigureAwait(false);
            }

            await outer.DisposeAsync().ConfigureAwait(false);
            throw;
        }
    }

    /// <summary>The archive in an already decompressed stream, which stays the caller's.</summary>
    internal static async Task<VmaArchive> OpenDecodedAsync(PeekStream decoded, string name, string? compression, CancellationToken cancellationToken) =>
        new(new PeekStream(decoded, name, ownsInner: false), null, name, compression, await ReadHeaderAsync(decoded, name, cancellationToken).ConfigureAwait(false));

    private static async Task<VmaHeader> ReadHeaderAsync(Stream decoded, string name, CancellationToken cancellationToken)
    {
        var fixedPart = new byte[VmaSpec.FixedHeaderSize];
        var read = await decoded.ReadAtLeastAsync(fixedPart, fixedPart.Length, throwOnEndOfStream: false, cancellationToken).ConfigureAwait(false);
        var size = VmaHeader.ReadSize(fixedPart.AsSpan(0, read), name);
        var data = new byte[size];
        fixedPart.CopyTo(data, 0);
        read = await decoded.ReadAtLeastAsync(data.AsMemory(VmaSpec.FixedHeaderSize), size - VmaSpec.FixedHeaderSize, throwOnEndOfStream: false, cancellationToken).ConfigureAwait(false);
        if (read < size - VmaSpec.FixedHeaderSize)
        {
            throw new DiskFormatException(name, "VMA header", VmaSpec.FixedHeaderSize + read, $"the archive ends inside the {size}-byte header (truncated)");
        }

        return VmaHeader.Parse(data, name);
    }

    /// <summary>
    /// The chunks of every device in the order the archive stores them: data chunks for the 4 KiB blocks present,
    /// zero chunks for the blocks the masks mark zero. A chunk's memory is valid until the enumeration advances.
    /// The enumeration reads the stream, so it (or one device's <see cref="GetDevice"/>) can run only once.
    /// </summary>
    /// <exception cref="DiskFormatException">The archive is malformed or truncated where it is read.</exception>
    /// <exception cref="InvalidOperationException">The archive was already read.</exception>
    public IAsyncEnumerable<VmaChunk> ReadChunksAsync(CancellationToken cancellationToken = default)
    {
        StartReading();
        return ReadExtentsAsync(null, cancellationToken);
    }

    /// <summary>
    /// One device as a sequential disk (chunks out of offset order). Reading its chunks reads the whole archive and
    /// skips the other devices' data, so only one device (or <see cref="ReadChunksAsync"/>) can be read per archive.
    /// Disposing the result does not dispose the archive.
    /// </summary>
    public ISequentialDisk GetDevice(VmaDevice device)
    {
        ArgumentNullException.ThrowIfNull(device);
        if (Header.DeviceById(device.Id) != device)
        {
            throw new ArgumentException($"{Name}: device {device.Name} is not one of this archive's ({Header.DescribeDevices()}).", nameof(device));
        }

        return new DeviceChunks(this, device);
    }

    /// <summary>Disposes the stream (unless it was opened with leaveOpen).</summary>
    public async ValueTask DisposeAsync()
    {
        await _stream.DisposeAsync().ConfigureAwait(false);
        if (_compressed is not null)
        {
            await _compressed.DisposeAsync().ConfigureAwait(false);
        }
    }

    internal static DiskInfo DescribeDevice(string name, VmaDevice device, long fileSize, string? compression) => new()
    {
        Format = "vma",
        Name = $"{name}:{device.Name}",
        VirtualSize = device.Size,
        FileSize = fileSize,
        ClusterSize = VmaSpec.ClusterSize,
        Compression = compression,
    };

    private void StartReading()
    {
        if (Interlocked.Exchange(ref _enumerated, 1) != 0)
        {
            throw new InvalidOperationException($"{Name}: a VMA archive read from a stream can be read only once.");
        }
    }

    private async IAsyncEnumerable<VmaChunk> ReadExtentsAsync(VmaDevice? only, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        var header = new byte[VmaSpec.ExtentHeaderSize];
        var data = ArrayPool<byte>.Shared.Rent(VmaSpec.MaxExtentSize - VmaSpec.ExtentHeaderSize);
        var entries = new List<VmaClusterEntry>(VmaSpec.BlocksPerExtent);
        var seen = new VmaClusterSet();
        var pending = default(PendingChunk);
        long offset = Header.Size;
        try
        {
            while (true)
            {
                var read = await _stream.ReadAtLeastAsync(header, header.Length, throwOnEndOfStream: false, cancellationToken).ConfigureAwait(false);
                if (read == 0)
                {
                    break;
                }

                if (read < header.Length)
                {
                    throw new DiskFormatException(Name, "VMA extent header", offset, $"the archive ends {read} bytes into the extent header (truncated)");
                }

                var length = VmaExtentHeader.Parse(header, Header, Name, offset, entries);
                read = await _stream.ReadAtLeastAsync(data.AsMemory(0, length), length, throwOnEndOfStream: false, cancellationToken).ConfigureAwait(false);
                if (read < length)
                {
                    throw new DiskFormatException(Name, "VMA extent", offset, $"the archive ends {read} bytes into the extent's {length} bytes of blocks (truncated)");
                }

                foreach (var entry in entries)
                {
                    if (!seen.Add(entry.Device.Id, entry.Cluster))
                    {
                        throw new DiskFormatException(Name, "VMA extent", offset, $"cluster {entry.Cluster} of device {entry.Device.Name} is stored twice");
                    }
                }

                var position = 0;
                foreach (var entry in entries)
                {
                    for (var block = 0; block < VmaSpec.BlocksPerCluster;)
                    {
                        var present = (entry.Mask & (1 << block)) != 0;
                        var run = 1;
                        while (block + run < VmaSpec.BlocksPerCluster && ((entry.Mask & (1 << (block + run))) != 0) == present)
                        {
                            run++;
                        }

                        var at = entry.DeviceOffset + ((long)block * VmaSpec.BlockSize);
                        var runBytes = run * VmaSpec.BlockSize;

                        // The last cluster of a device may reach past its end; those bytes are not the device's.
                        var inside = (int)Math.Clamp(entry.Device.Size - at, 0, runBytes);
                        if (inside > 0 && (only is null || only == entry.Device))
                        {
                            // Runs that continue the previous one (same device and kind, next offset, and for data the next
                            // bytes of the extent) make one chunk: clusters stored in order give few, large chunks.
                            if (pending.Device == entry.Device && pending.Data == present && pending.End == at
                                && (!present || pending.Position + pending.Length == position))
                            {
                                pending.Length += inside;
                            }
                            else
                            {
                                if (pending.Device is not null)
                                {
                                    yield return pending.ToChunk(data);
                                }

                                pending = new PendingChunk(entry.Device, present, at, inside, position);
                            }
                        }

                        position += present ? runBytes : 0;
                        block += run;
                    }
                }

                // Data chunks point into the extent's buffer, which the next extent overwrites; zero runs may go on.
                if (pending.Device is not null && pending.Data)
                {
                    yield return pending.ToChunk(data);
                    pending = default;
                }

                offset += header.Length + length;
            }

            if (pending.Device is not null)
            {
                yield return pending.ToChunk(data);
            }

            seen.CheckComplete(Header, Name, offset);
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(data);
        }
    }

    /// <summary>A chunk being extended while the runs that follow continue it.</summary>
    private struct PendingChunk(VmaDevice device, bool data, long offset, long length, int position)
    {
        public readonly VmaDevice? Device = device;
        public readonly bool Data = data;
        public readonly long Offset = offset;
        public readonly int Position = position;
        public long Length = length;

        public readonly long End => Offset + Length;

        public readonly VmaChunk ToChunk(byte[] buffer) => new(Device!, Data
            ? DiskChunk.FromData(Offset, buffer.AsMemory(Position, (int)Length))
            : DiskChunk.FromZero(Offset, Length));
    }

    private sealed class DeviceChunks(VmaArchive archive, VmaDevice device) : ISequentialDisk
    {
        public string Name => $"{archive.Name}:{device.Name}";

        public long Capacity => device.Size;

        public int LogicalSectorSize => 512;

        public bool ChunksInOffsetOrder => false;

        public DiskInfo Describe() => DescribeDevice(archive.Name, device, 0, archive.Compression);

        public IAsyncEnumerable<DiskChunk> ReadChunksAsync(CancellationToken cancellationToken = default)
        {
            archive.StartReading();
            return ReadAsync(cancellationToken);
        }

        public ValueTask DisposeAsync() => ValueTask.CompletedTask;

        private async IAsyncEnumerable<DiskChunk> ReadAsync([EnumeratorCancellation] CancellationToken cancellationToken)
        {
            await foreach (var chunk in archive.ReadExtentsAsync(device, cancellationToken).ConfigureAwait(false))
            {
                yield return chunk.Chunk;
            }
        }
    }
}
