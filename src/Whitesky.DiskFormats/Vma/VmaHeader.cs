using System.Buffers.Binary;
using System.Security.Cryptography;
using System.Text;

namespace Whitesky.DiskFormats.Vma;

/// <summary>
/// The header of a Proxmox VMA archive: its identity, the devices it stores and the configuration files
/// (<c>qemu-server.conf</c>, <c>qemu-server.fw</c>) vzdump put in it.
/// </summary>
public sealed class VmaHeader
{
    private readonly VmaDevice?[] _byId;

    private VmaHeader(Guid uuid, DateTimeOffset creationTime, int size, VmaDevice?[] byId, IReadOnlyDictionary<string, ReadOnlyMemory<byte>> configFiles, byte[] uuidBytes)
    {
        Uuid = uuid;
        CreationTime = creationTime;
        Size = size;
        _byId = byId;
        Devices = [.. byId.Where(d => d is not null).Select(d => d!)];
        ConfigFiles = configFiles;
        UuidBytes = uuidBytes;
    }

    /// <summary>The archive's uuid; every extent carries it too.</summary>
    public Guid Uuid { get; }

    /// <summary>When the backup was taken.</summary>
    public DateTimeOffset CreationTime { get; }

    /// <summary>The devices, in dev_id order.</summary>
    public IReadOnlyList<VmaDevice> Devices { get; }

    /// <summary>The configuration files by name (for example <c>qemu-server.conf</c>), as stored.</summary>
    public IReadOnlyDictionary<string, ReadOnlyMemory<byte>> ConfigFiles { get; }

    /// <summary>Size of the header in bytes: the first extent starts here.</summary>
    public int Size { get; }

    internal byte[] UuidBytes { get; }

    /// <summary>
    /// The device whose name is <paramref name="nameOrId"/> (ordinal), or failing that whose dev_id it is; null when none is.
    /// </summary>
    public VmaDevice? FindDevice(string nameOrId)
    {
        ArgumentNullException.ThrowIfNull(nameOrId);
        return Devices.FirstOrDefault(d => string.Equals(d.Name, nameOrId, StringComparison.Ordinal))
            ?? (int.TryParse(nameOrId, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var id)
                ? Devices.FirstOrDefault(d => d.Id == id)
                : null);
    }

    /// <summary>The device with dev_id <paramref name="id"/>, or null.</summary>
    internal VmaDevice? DeviceById(int id) => id is > 0 and < VmaSpec.MaxDevices ? _byId[id] : null;

    /// <summary>"1 drive-scsi0 (34359738368 bytes), 2 drive-scsi1 (...)" for messages.</summary>
    internal string DescribeDevices() =>
        string.Join(", ", Devices.Select(d => string.Create(System.Globalization.CultureInfo.InvariantCulture, $"{d.Id} {d.Name} ({d.Size} bytes)")));

    /// <summary>Whether <paramref name="head"/> starts with the VMA magic and version.</summary>
    internal static bool HasMagic(ReadOnlySpan<byte> head) =>
        head.Length >= 8
        && BinaryPrimitives.ReadUInt32BigEndian(head) == VmaSpec.Magic
        && BinaryPrimitives.ReadUInt32BigEndian(head[VmaSpec.HeaderVersionOffset..]) == VmaSpec.Version;

    /// <summary>The whole header's size, from its fixed part; checks magic and version first.</summary>
    internal static int ReadSize(ReadOnlySpan<byte> fixedPart, string image)
    {
        if (fixedPart.Length < VmaSpec.FixedHeaderSize)
        {
            throw new DiskFormatException(image, "VMA header", fixedPart.Length, $"the archive ends after {fixedPart.Length} bytes, inside the {VmaSpec.FixedHeaderSize}-byte header");
        }

        if (BinaryPrimitives.ReadUInt32BigEndian(fixedPart) != VmaSpec.Magic)
        {
            throw new DiskFormatException(image, "VMA header", 0, $"magic 0x{BinaryPrimitives.ReadUInt32BigEndian(fixedPart):x8} is not \"VMA\\0\" (not a VMA archive)");
        }

        var version = BinaryPrimitives.ReadUInt32BigEndian(fixedPart[VmaSpec.HeaderVersionOffset..]);
        if (version != VmaSpec.Version)
        {
            throw new DiskFormatException(image, "VMA header", VmaSpec.HeaderVersionOffset, $"version {version} is not supported (only {VmaSpec.Version})");
        }

        var size = BinaryPrimitives.ReadUInt32BigEndian(fixedPart[VmaSpec.HeaderSizeOffset..]);
        if (size <= VmaSpec.FixedHeaderSize || size > VmaSpec.MaxHeaderSize)
        {
            throw new DiskFormatException(image, "VMA header", VmaSpec.HeaderSizeOffset,
                $"header_size {size} is not between {VmaSpec.FixedHeaderSize + 1} and {VmaSpec.MaxHeaderSize}");
        }

        return (int)size;
    }

    /// <summary>Parses and checks the whole header (<paramref name="data"/> is header_size bytes and is modified: its md5 field is zeroed).</summary>
    internal static VmaHeader Parse(byte[] data, string image)
    {
        var size = ReadSize(data, image);
        if (data.Length != size)
        {
            throw new DiskFormatException(image, "VMA header", data.Length, $"the archive ends inside the {size}-byte header");
        }

        var stored = data.AsSpan(VmaSpec.HeaderMd5Offset, VmaSpec.Md5Size).ToArray();
        data.AsSpan(VmaSpec.HeaderMd5Offset, VmaSpec.Md5Size).Clear();
        Span<byte> computed = stackalloc byte[VmaSpec.Md5Size];
        MD5.HashData(data, computed);
        if (!computed.SequenceEqual(stored))
        {
            throw new DiskFormatException(image, "VMA header", VmaSpec.HeaderMd5Offset,
                $"md5 {Convert.ToHexStringLower(stored)} does not match the header's {Convert.ToHexStringLower(computed)} (corrupt)");
        }

        var uuidBytes = data.AsSpan(VmaSpec.HeaderUuidOffset, VmaSpec.UuidSize).ToArray();
        var ctime = BinaryPrimitives.ReadInt64BigEndian(data.AsSpan(VmaSpec.HeaderCtimeOffset));
        if (ctime < 0 || ctime > DateTimeOffset.MaxValue.ToUnixTimeSeconds())
        {
            throw new DiskFormatException(image, "VMA header", VmaSpec.HeaderCtimeOffset, $"ctime {ctime} is not a time");
        }

        var blobs = ReadBlobs(data, image);
        var byId = new VmaDevice?[VmaSpec.MaxDevices];
        for (var id = 1; id < VmaSpec.MaxDevices; id++)
        {
            var at = VmaSpec.HeaderDevInfoOffset + (id * VmaSpec.DevInfoSize);
            var namePointer = BinaryPrimitives.ReadUInt32BigEndian(data.AsSpan(at));
            var deviceSize = BinaryPrimitives.ReadUInt64BigEndian(data.AsSpan(at + 8));
            if (namePointer == 0 || deviceSize == 0)
            {
                continue;
            }

            // cluster_num is 32 bits: no device can be larger than 2^32 clusters.
            if (deviceSize > (1UL << 32) * VmaSpec.ClusterSize)
            {
                throw new DiskFormatException(image, $"VMA device {id}", at + 8, $"size {deviceSize} is larger than 2^32 clusters of {VmaSpec.ClusterSize} bytes");
            }

            var name = blobs.String(namePointer)
                ?? throw new DiskFormatException(image, $"VMA device {id}", at, $"its name pointer {namePointer} is not a NUL-terminated string of the blob buffer");
            byId[id] = new VmaDevice(id, name, (long)deviceSize);
        }

        if (byId.All(d => d is null))
        {
            throw new DiskFormatException(image, "VMA header", VmaSpec.HeaderDevInfoOffset, "the device table lists no device");
        }

        var configs = new Dictionary<string, ReadOnlyMemory<byte>>(StringComparer.Ordinal);
        for (var i = 0; i < VmaSpec.MaxConfigs; i++)
        {
            var nameAt = VmaSpec.HeaderConfigNamesOffset + (i * 4);
            var namePointer = BinaryPrimitives.ReadUInt32BigEndian(data.AsSpan(nameAt));
            var dataPointer = BinaryPrimitives.ReadUInt32BigEndian(data.AsSpan(VmaSpec.HeaderConfigDataOffset + (i * 4)));
            if (namePointer == 0 || dataPointer == 0)
            {
                continue;
            }

            var name = blobs.String(namePointer);
            var blob = blobs.Blob(dataPointer);
            if (name is null || blob is null)
            {
                throw new DiskFormatException(image, $"VMA config {i}", nameAt, $"its pointers {namePointer}/{dataPointer} do not point at blobs of the blob buffer");
            }

            if (!configs.TryAdd(name, blob.Value))
            {
                throw new DiskFormatException(image, $"VMA config {i}", nameAt, $"the config file '{name}' is stored twice");
            }
        }

        var created = DateTimeOffset.FromUnixTimeSeconds(ctime);
        return new VmaHeader(new Guid(uuidBytes, bigEndian: true), created, size, byId, configs, uuidBytes);
    }

    private static BlobTable ReadBlobs(byte[] data, string image)
    {
        var offset = BinaryPrimitives.ReadUInt32BigEndian(data.AsSpan(VmaSpec.HeaderBlobBufferOffsetOffset));
        var length = BinaryPrimitives.ReadUInt32BigEndian(data.AsSpan(VmaSpec.HeaderBlobBufferSizeOffset));
        if (offset < VmaSpec.FixedHeaderSize || offset > data.Length || length > data.Length - offset)
        {
            throw new DiskFormatException(image, "VMA blob buffer", VmaSpec.HeaderBlobBufferOffsetOffset,
                $"{length} bytes at {offset} do not lie between the fixed header ({VmaSpec.FixedHeaderSize}) and header_size ({data.Length})");
        }

        // Blob pointers are relative to the buffer; the first blob starts at 1, so 0 means "none".
        var buffer = data.AsMemory((int)offset, (int)length);
        var blobs = new Dictionary<uint, ReadOnlyMemory<byte>>();
        var span = buffer.Span;
        for (var at = 1; at + 2 <= span.Length;)
        {
            var blobLength = BinaryPrimitives.ReadUInt16LittleEndian(span[at..]);
            if (at + 2 + blobLength > span.Length)
            {
                break;
            }

            blobs[(uint)at] = buffer.Slice(at + 2, blobLength);
            at += 2 + blobLength;
        }

        return new BlobTable(blobs);
    }

    private sealed class BlobTable(Dictionary<uint, ReadOnlyMemory<byte>> blobs)
    {
        public ReadOnlyMemory<byte>? Blob(uint pointer) => blobs.TryGetValue(pointer, out var blob) ? blob : null;

        public string? String(uint pointer) =>
            Blob(pointer) is { Length: > 0 } blob && blob.Span[^1] == 0 ? Encoding.UTF8.GetString(blob.Span[..^1]) : null;
    }
}
