using System.Buffers.Binary;
using System.Globalization;

namespace Whitesky.DiskFormats.Vdi;

/// <summary>The fields of a VDI (v1.1) header that a reader needs, checked against the file.</summary>
internal sealed record VdiHeader
{
    /// <summary>The most blocks a disk may have here (a map of 2 GiB; 1 MiB blocks make 512 TiB).</summary>
    private const long MaxBlocks = int.MaxValue / 4;

    public required uint ImageType { get; init; }
    public required long BlockMapOffset { get; init; }
    public required long DataOffset { get; init; }
    public required long DiskSize { get; init; }
    public required int BlockSize { get; init; }
    public required int Blocks { get; init; }

    public static bool HasSignature(ReadOnlySpan<byte> head) =>
        head.Length >= VdiSpec.VersionOffset && BinaryPrimitives.ReadUInt32LittleEndian(head[VdiSpec.SignatureOffset..]) == VdiSpec.Signature;

    public static VdiHeader Parse(string image, ReadOnlySpan<byte> head, long fileLength)
    {
        if (head.Length < VdiSpec.HeaderEnd || !HasSignature(head))
        {
            throw new DiskFormatException(image, "header", VdiSpec.SignatureOffset, Inv($"not a VDI header (no signature 0x{VdiSpec.Signature:x8} or shorter than {VdiSpec.HeaderEnd} bytes)"));
        }

        var version = U32(head, VdiSpec.VersionOffset);
        if (version != VdiSpec.Version1_1)
        {
            throw new DiskFormatException(image, "header", VdiSpec.VersionOffset, Inv($"version {version >> 16}.{version & 0xFFFF} is not supported (only 1.1)"));
        }

        var headerSize = U32(head, VdiSpec.HeaderSizeOffset);
        if (headerSize < VdiSpec.MinHeaderSize)
        {
            throw new DiskFormatException(image, "header", VdiSpec.HeaderSizeOffset, Inv($"header size {headerSize} is smaller than a v1.1 header ({VdiSpec.MinHeaderSize})"));
        }

        var type = U32(head, VdiSpec.ImageTypeOffset);
        if (type is VdiSpec.ImageTypeUndo or VdiSpec.ImageTypeDiff)
        {
            throw new DiskFormatException(image, "header", VdiSpec.ImageTypeOffset, Inv($"image type {type} ({(type == VdiSpec.ImageTypeDiff ? "differencing" : "undo")}) is not supported; only static and dynamic images"));
        }

        if (type is not (VdiSpec.ImageTypeDynamic or VdiSpec.ImageTypeStatic))
        {
            throw new DiskFormatException(image, "header", VdiSpec.ImageTypeOffset, Inv($"image type {type} is unknown"));
        }

        var sectorSize = U32(head, VdiSpec.SectorSizeOffset);
        if (sectorSize != VdiSpec.SectorSize)
        {
            throw new DiskFormatException(image, "header", VdiSpec.SectorSizeOffset, Inv($"sector size {sectorSize} is not {VdiSpec.SectorSize}"));
        }

        var blockSize = U32(head, VdiSpec.BlockSizeOffset);
        if (blockSize is < VdiSpec.MinBlockSize or > VdiSpec.MaxBlockSize || (blockSize & (blockSize - 1)) != 0)
        {
            throw new DiskFormatException(image, "header", VdiSpec.BlockSizeOffset, Inv($"block size {blockSize} is not a power of two between {VdiSpec.MinBlockSize} and {VdiSpec.MaxBlockSize}"));
        }

        var blockExtra = U32(head, VdiSpec.BlockExtraOffset);
        if (blockExtra != 0)
        {
            throw new DiskFormatException(image, "header", VdiSpec.BlockExtraOffset, Inv($"block_extra {blockExtra} is not supported (VirtualBox and qemu write 0)"));
        }

        var diskSize = BinaryPrimitives.ReadUInt64LittleEndian(head[VdiSpec.DiskSizeOffset..]);
        var blocks = U32(head, VdiSpec.BlocksOffset);
        var needed = (diskSize + blockSize - 1) / blockSize;
        if (diskSize > long.MaxValue / 2 || blocks < needed)
        {
            throw new DiskFormatException(image, "header", VdiSpec.BlocksOffset, Inv($"{blocks} blocks of {blockSize} bytes cannot hold a disk of {diskSize} bytes"));
        }

        if (needed > MaxBlocks)
        {
            throw new DiskFormatException(image, "header", VdiSpec.BlocksOffset, Inv($"a disk of {needed} blocks is more than the {MaxBlocks} supported"));
        }

        var mapOffset = U32(head, VdiSpec.OffsetBlocksOffset);
        var dataOffset = U32(head, VdiSpec.OffsetDataOffset);
        var mapEnd = mapOffset + (4L * blocks);
        if (mapOffset < VdiSpec.HeaderEnd || mapEnd > fileLength)
        {
            throw new DiskFormatException(image, "block map", mapOffset, Inv($"a map of {blocks} entries ({4L * blocks} bytes) does not fit in the file of {fileLength} bytes after the header"));
        }

        if (dataOffset < mapEnd || dataOffset > fileLength)
        {
            throw new DiskFormatException(image, "header", VdiSpec.OffsetDataOffset, Inv($"data offset {dataOffset} is inside the header or block map (which ends at {mapEnd}) or past the end of the file ({fileLength} bytes)"));
        }

        return new VdiHeader
        {
            ImageType = type,
            BlockMapOffset = mapOffset,
            DataOffset = dataOffset,
            DiskSize = (long)diskSize,
            BlockSize = (int)blockSize,
            Blocks = (int)Math.Min(blocks, int.MaxValue),
        };
    }

    private static uint U32(ReadOnlySpan<byte> head, int offset) => BinaryPrimitives.ReadUInt32LittleEndian(head[offset..]);

    private static string Inv(FormattableString text) => text.ToString(CultureInfo.InvariantCulture);
}
