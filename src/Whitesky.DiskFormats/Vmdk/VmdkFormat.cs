using System.Buffers.Binary;
using System.Globalization;

namespace Whitesky.DiskFormats.Vmdk;

/// <summary>
/// VMDK: a hosted sparse extent with its descriptor inside (monolithicSparse, streamOptimized) or a text
/// descriptor naming extent files (monolithicFlat, twoGb*, vmfs). Extent files and parents are opened only
/// through the caller's resolver. A child whose parentCID differs from its parent's CID is refused, as VMware
/// does: the parent changed after the child was taken, and reading through it would mix two states of the disk.
/// </summary>
internal sealed class VmdkFormat : IDiskFormat
{
    public string Name => "vmdk";

    public bool Probe(ReadOnlySpan<byte> head, ReadOnlySpan<byte> tail, long length) =>
        VmdkSparseHeader.HasMagic(head) || VmdkDescriptor.LooksLikeDescriptor(head);

    public async Task<IVirtualDisk> OpenAsync(IRandomAccessSource source, DiskOpenContext context, bool ownsSource, CancellationToken cancellationToken)
    {
        var head = new byte[4];
        var read = await source.ReadAsync(0, head, cancellationToken).ConfigureAwait(false);
        var disk = VmdkSparseHeader.HasMagic(head.AsSpan(0, read))
            ? await OpenSparseAsync(source, ownsSource, cancellationToken).ConfigureAwait(false)
            : await OpenDescriptorAsync(source, context, ownsSource, cancellationToken).ConfigureAwait(false);
        try
        {
            await AttachParentAsync(disk.Disk, disk.Descriptor, source.Name, context, cancellationToken).ConfigureAwait(false);
            return disk.Disk;
        }
        catch
        {
            await disk.Disk.DisposeAsync().ConfigureAwait(false);
            throw;
        }
    }

    private static async Task<(VmdkDisk Disk, VmdkDescriptor? Descriptor)> OpenSparseAsync(IRandomAccessSource source, bool ownsSource, CancellationToken cancellationToken)
    {
        var (header, footer) = await VmdkSparseExtent.ReadHeaderAsync(source, cancellationToken).ConfigureAwait(false);
        VmdkDescriptor? descriptor = null;
        if (header.DescriptorOffset != 0 && header.DescriptorSectors != 0)
        {
            // The embedded descriptor gives identity (CID, parent, createType); its extent line names this very file.
            if (header.DescriptorSectors > VmdkConstants.MaxDescriptorBytes / VmdkConstants.SectorSize ||
                header.DescriptorOffset > (ulong)(source.Length / VmdkConstants.SectorSize) ||
                (long)(header.DescriptorOffset + header.DescriptorSectors) * VmdkConstants.SectorSize > source.Length)
            {
                throw new DiskFormatException(source.Name, "embedded descriptor", 28,
                    $"{header.DescriptorSectors} sectors at sector {header.DescriptorOffset} exceed {VmdkConstants.MaxDescriptorBytes} bytes or the file");
            }

            var bytes = new byte[(int)header.DescriptorSectors * VmdkConstants.SectorSize];
            var offset = (long)header.DescriptorOffset * VmdkConstants.SectorSize;
            await source.ReadAsync(offset, bytes, cancellationToken).ConfigureAwait(false);
            descriptor = VmdkDescriptor.Parse(bytes, source.Name, offset);
        }

        var length = (long)header.CapacitySectors * VmdkConstants.SectorSize;
        var extent = await VmdkSparseExtent.OpenAsync(source, ownsSource, header, length, cancellationToken).ConfigureAwait(false);
        var features = SparseFeatures(header, footer);
        return (new VmdkDisk(source.Name, descriptor?.CreateType, descriptor?.Cid, [extent], null, features), descriptor);
    }

    private static async Task<(VmdkDisk Disk, VmdkDescriptor? Descriptor)> OpenDescriptorAsync(IRandomAccessSource source, DiskOpenContext context, bool ownsSource, CancellationToken cancellationToken)
    {
        if (source.Length > VmdkConstants.MaxDescriptorBytes)
        {
            throw new DiskFormatException(source.Name, "descriptor", 0, $"a text descriptor of {source.Length} bytes is larger than the {VmdkConstants.MaxDescriptorBytes} allowed");
        }

        var bytes = new byte[source.Length];
        await source.ReadAsync(0, bytes, cancellationToken).ConfigureAwait(false);
        var descriptor = VmdkDescriptor.Parse(bytes, source.Name, 0);
        if (descriptor.Extents.Count == 0)
        {
            throw new DiskFormatException(source.Name, "descriptor", 0, "it lists no extents");
        }

        long total = 0;
        foreach (var line in descriptor.Extents)
        {
            total += line.Sectors;
            if (total > long.MaxValue / VmdkConstants.SectorSize)
            {
                throw new DiskFormatException(source.Name, "descriptor", 0, $"line {line.Line}: the extents add up to more sectors than a disk can have");
            }
        }

        var extents = new List<IVmdkExtent>();
        var features = new List<string>();
        try
        {
            foreach (var line in descriptor.Extents)
            {
                extents.Add(await OpenExtentAsync(source.Name, line, context, features, cancellationToken).ConfigureAwait(false));
            }

            if (extents.Count > 1)
            {
                features.Add(string.Create(CultureInfo.InvariantCulture, $"extents={extents.Count}"));
            }

            var disk = new VmdkDisk(source.Name, descriptor.CreateType, descriptor.Cid, [.. extents], ownsSource ? source : null, features.Distinct().ToArray());
            return (disk, descriptor);
        }
        catch
        {
            foreach (var extent in extents)
            {
                await extent.DisposeAsync().ConfigureAwait(false);
            }

            throw;
        }
    }

    private static async Task<IVmdkExtent> OpenExtentAsync(string descriptorName, VmdkExtentLine line, DiskOpenContext context, List<string> features, CancellationToken cancellationToken)
    {
        var length = line.Sectors * VmdkConstants.SectorSize;
        switch (line.Type)
        {
            case "ZERO":
                return new VmdkZeroExtent(length);
            case "FLAT" or "VMFS" or "SPARSE" or "VMFSSPARSE" or "SESPARSE":
                break;
            default:
                throw new DiskFormatException(descriptorName, $"extent line {line.Line}", 0, $"extent type '{line.Type}' is not supported (SPARSE, FLAT, ZERO, VMFS, VMFSSPARSE and SESPARSE are)");
        }

        if (string.IsNullOrEmpty(line.FileName))
        {
            throw new DiskFormatException(descriptorName, $"extent line {line.Line}", 0, $"the {line.Type} extent names no file");
        }

        var file = await context.OpenReferenceAsync(descriptorName, line.FileName, cancellationToken).ConfigureAwait(false);
        try
        {
            if (line.Type is "FLAT" or "VMFS")
            {
                return new VmdkFlatExtent(file, line.OffsetSectors * VmdkConstants.SectorSize, length, descriptorName, line.Line);
            }

            if (line.Type == "SESPARSE")
            {
                features.Add("sesparse");
                return await VmdkSeSparseExtent.OpenAsync(file, length, cancellationToken).ConfigureAwait(false);
            }

            var magic = new byte[4];
            await file.ReadAsync(0, magic, cancellationToken).ConfigureAwait(false);
            if (BinaryPrimitives.ReadUInt32LittleEndian(magic) == VmdkConstants.CowdMagic)
            {
                throw new DiskFormatException(file.Name, "sparse extent header", 0, "COWD (ESX vmfsSparse) extents are not supported by this reader; consolidate or convert the disk first");
            }

            var (header, footer) = await VmdkSparseExtent.ReadHeaderAsync(file, cancellationToken).ConfigureAwait(false);
            features.AddRange(SparseFeatures(header, footer));
            return await VmdkSparseExtent.OpenAsync(file, ownsSource: true, header, length, cancellationToken).ConfigureAwait(false);
        }
        catch
        {
            await file.DisposeAsync().ConfigureAwait(false);
            throw;
        }
    }

    private static async Task AttachParentAsync(VmdkDisk disk, VmdkDescriptor? descriptor, string name, DiskOpenContext context, CancellationToken cancellationToken)
    {
        if (descriptor?.ParentCid is not { } parentCid || parentCid == VmdkConstants.NoParentCid)
        {
            return;
        }

        if (string.IsNullOrEmpty(descriptor.ParentFileNameHint))
        {
            throw new DiskFormatException(name, "descriptor", 0, string.Create(CultureInfo.InvariantCulture,
                $"it has a parent (parentCID={parentCid:x8}) but no parentFileNameHint to find it by"));
        }

        var parent = await context.OpenParentAsync(name, descriptor.ParentFileNameHint, "vmdk", cancellationToken).ConfigureAwait(false);
        if (parent is VmdkDisk vmdk && vmdk.Cid != parentCid)
        {
            await parent.DisposeAsync().ConfigureAwait(false);
            throw new DiskFormatException(name, "descriptor", 0, string.Create(CultureInfo.InvariantCulture,
                $"parentCID {parentCid:x8} does not match the CID {vmdk.Cid:x8} of its parent '{descriptor.ParentFileNameHint}': the parent changed after this child was made, so the chain would read a mix of two disks"));
        }

        disk.SetParent(parent);
    }

    private static List<string> SparseFeatures(VmdkSparseHeader header, bool footer)
    {
        var features = new List<string>();
        if (header.ZeroedGrainEntries)
        {
            features.Add("zeroed_grain");
        }

        if (header.Markers)
        {
            features.Add("markers");
        }

        if ((header.Flags & VmdkConstants.FlagRedundantGrainTable) != 0)
        {
            features.Add("redundant_grain_table");
        }

        if (footer)
        {
            features.Add("footer");
        }

        return features;
    }
}
