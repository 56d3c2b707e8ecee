using Whitesky.DiskFormats.Containers;
using Whitesky.DiskFormats.Tests.Vmdk;
using Whitesky.Nbd.Tests.Peers;

namespace Whitesky.DiskFormats.Tests.Containers;

/// <summary>Disks opened in place inside tar and OVA files (random access), compared with qemu.</summary>
public class TarArchiveTests
{
    [Fact]
    public async Task A_vmdk_inside_an_ova_opens_in_place_with_qemus_content_and_map()
    {
        using var dir = new TempDirectory();
        var (ova, disk1, _) = await SequentialArchiveTests.MakeOvaAsync(dir);

        await using var archive = await TarArchive.OpenAsync(ova);
        Assert.True(archive.IsOva);
        Assert.Equal(["vm.ovf", "vm.mf", "disk1.vmdk", "disk2.vmdk"], archive.Entries.Select(e => e.Name));
        Assert.Contains("<Envelope", await archive.ReadTextAsync(archive.Entries[0]));

        await using var source = archive.OpenEntry(archive.Entries[2]);
        await using var disk = await DiskImage.OpenAsync(source);
        Assert.Equal(("vmdk", "streamOptimized"), (disk.Describe().Format, disk.Describe().Subformat));
        Assert.Equal(await VmdkTestImages.QemuSha256Async(disk1, dir), await VmdkTestImages.OurSha256Async(disk));
    }

    [Fact]
    public async Task A_gnu_sparse_entry_opens_as_a_raw_disk_reading_zeroes_in_its_holes()
    {
        using var dir = new TempDirectory();
        var raw = await SequentialArchiveTests.MakeSparseRawAsync(dir, "disk.raw", runs: 7);
        var tar = dir.File("disk.tar");
        await ExternalTool.RunAsync("tar", ["--format=oldgnu", "-S", "-cf", tar, "-C", dir.Path, "disk.raw"]);
        Assert.True(new FileInfo(tar).Length < 1 << 20, "tar stored only the data runs");

        await using var archive = await TarArchive.OpenAsync(tar);
        var entry = Assert.Single(archive.Entries);
        Assert.Equal(TarEntryKind.SparseFile, entry.Kind);
        Assert.Equal(7, entry.SparseMap!.Count);
        await using var disk = await DiskImage.OpenAsync(archive.OpenEntry(entry));
        Assert.Equal("raw", disk.Describe().Format);
        Assert.Equal(await TestData.Sha256FileAsync(raw), await VmdkTestImages.OurSha256Async(disk));

        // The extent map is the sparse map: data where tar stored runs, unallocated in the holes.
        var data = new List<TarSparseRun>();
        await foreach (var extent in disk.GetExtentsAsync(0, disk.Capacity))
        {
            if (extent.Kind == DiskExtentKind.Data)
            {
                data.Add(new TarSparseRun(extent.Offset, extent.Length));
            }
        }

        Assert.Equal(entry.SparseMap, data);
        Assert.Equal(Enumerable.Range(0, 7).Select(i => new TarSparseRun((i * 7L + 1) << 20, 64 * 1024)), data);
    }
}
