using Whitesky.Api.Models;
using Whitesky.Migration.Guest;
using Whitesky.Migration.Paths.Streaming;
using Whitesky.Migration.Transfer;
using Whitesky.Nbd.Tests.Peers;

namespace Whitesky.IntegrationTests.StreamingImport;

/// <summary>
/// Path B end to end: images made by sfdisk + qemu-img, imported into the embedded emulator over real NBD with
/// TLS-PSK, the disk's sparse file compared with <c>qemu-img convert -O raw</c> of the source.
/// </summary>
public class StreamingImportTests
{
    [Theory]
    [InlineData("qcow2")]
    [InlineData("vmdk")]
    [InlineData("vhdx")]
    [InlineData("vpc")]
    public async Task An_mbr_image_lands_in_a_bios_vm_with_the_content_of_qemu_img_convert(string format)
    {
        await using var bed = await EmulatorTestBed.StartAsync();
        var image = await TestImages.MbrAsync(bed.Temp, "mbr", format, seed: 11);
        var (hash, raw) = await TestImages.ConvertedRawAsync(image, bed.Temp);

        var result = await new StreamingDiskImport(bed.Client).ImportAsync(new StreamingImportOptions
        {
            Disks = [new StreamingImportSource { ImagePath = image }],
            NewVm = new StreamingImportVm { Name = "mbr-vm", VCpus = 1, MemoryMiB = 512 },
        });

        var disk = Assert.Single(result.Disks);
        Assert.Equal(GuestBootMode.Bios, disk.Layout.BootMode);
        Assert.Equal(1, disk.DiskSizeGb);
        Assert.True(disk.Transfer.TargetIsZero);
        Assert.InRange(disk.Transfer.BytesWritten, TestImages.DataBytes, TestImages.DataBytes + (64 << 10));
        await TestImages.AssertDiskHoldsAsync(await bed.DiskFileAsync(disk.DiskId), raw, hash);

        var vm = await bed.Client.GetVirtualMachineAsync(result.VmId!.Value);
        Assert.Equal(disk.DiskId, vm.BootDiskId);
        Assert.Equal("bios", (await bed.AdminAsync("vms", result.VmId.Value)).GetProperty("boot_type").GetString());
        var (disks, exposed) = await bed.StateAsync();
        Assert.Equal([disk.DiskId], disks);
        Assert.Empty(exposed);
    }

    [Fact]
    public async Task A_gpt_image_with_an_esp_makes_a_uefi_vm_and_its_backup_header_moves_to_the_end_of_the_disk()
    {
        await using var bed = await EmulatorTestBed.StartAsync();
        var image = await TestImages.GptWithEspAsync(bed.Temp, "gpt", "qcow2", seed: 12);
        var (_, raw) = await TestImages.ConvertedRawAsync(image, bed.Temp);

        var result = await new StreamingDiskImport(bed.Client).ImportAsync(new StreamingImportOptions
        {
            Disks = [new StreamingImportSource { ImagePath = image }],
            NewVm = new StreamingImportVm { Name = "gpt-vm", OsType = OsType.Linux, OsName = OsName.Ubuntu2004 },
        });

        var disk = Assert.Single(result.Disks);
        Assert.Equal(PartitionScheme.Gpt, disk.Layout.Scheme);
        Assert.Equal(GuestBootMode.Uefi, disk.Layout.BootMode);
        Assert.True(disk.GptRelocation!.Moved);
        Assert.Equal(StreamingDiskImport.BytesPerGb - 512, disk.GptRelocation.NewBackupOffset);
        var vm = await bed.AdminAsync("vms", result.VmId!.Value);
        Assert.Equal("uefi", vm.GetProperty("boot_type").GetString());
        Assert.Equal("Ubuntu 20.04", vm.GetProperty("os_name").GetString());

        var file = await bed.DiskFileAsync(disk.DiskId);
        var verify = await ExternalTool.RunAsync("sgdisk", ["-v", file]);
        Assert.Contains("No problems found", verify, StringComparison.Ordinal);

        // The partitions' bytes are the source's (the GPT structures around them were rewritten).
        long first = 1 << 20, length = TestImages.Size - first - (33 * 512);
        Assert.Equal(await TestImages.HashRangeAsync(raw, first, length), await TestImages.HashRangeAsync(file, first, length));
    }

    [Fact]
    public async Task Without_relocation_a_gpt_disk_holds_exactly_the_source()
    {
        await using var bed = await EmulatorTestBed.StartAsync();
        var image = await TestImages.GptWithEspAsync(bed.Temp, "gpt", "vmdk", seed: 13);
        var (hash, raw) = await TestImages.ConvertedRawAsync(image, bed.Temp);

        var result = await new StreamingDiskImport(bed.Client).ImportAsync(new StreamingImportOptions
        {
            Disks = [new StreamingImportSource { ImagePath = image }],
            RelocateGptBackup = false,
        });

        var disk = Assert.Single(result.Disks);
        Assert.Null(disk.GptRelocation);
        Assert.Null(result.VmId);
        await TestImages.AssertDiskHoldsAsync(await bed.DiskFileAsync(disk.DiskId), raw, hash);
        Assert.Null((await bed.Client.GetDiskAsync(disk.DiskId)).VmId);
    }

    [Fact]
    public async Task Several_disks_are_imported_in_parallel_into_one_vm_with_the_first_as_boot_disk()
    {
        await using var bed = await EmulatorTestBed.StartAsync();
        var boot = await TestImages.GptWithEspAsync(bed.Temp, "boot", "qcow2", seed: 21);
        var data = await TestImages.MbrAsync(bed.Temp, "data", "vmdk", seed: 22);
        var (dataHash, dataRaw) = await TestImages.ConvertedRawAsync(data, bed.Temp);
        var phases = new List<StreamingImportProgress>();

        var result = await new StreamingDiskImport(bed.Client).ImportAsync(new StreamingImportOptions
        {
            Disks = [new StreamingImportSource { ImagePath = boot }, new StreamingImportSource { ImagePath = data, DiskName = "data-disk" }],
            NewVm = new StreamingImportVm { Name = "two-disks" },
        }, new SynchronousProgress<StreamingImportProgress>(p => { lock (phases) { phases.Add(p); } }));

        Assert.Equal(2, result.Disks.Count);
        var vm = await bed.Client.GetVirtualMachineAsync(result.VmId!.Value);
        Assert.Equal(result.Disks[0].DiskId, vm.BootDiskId);
        Assert.Equal(result.Disks.Select(d => d.DiskId).Order(), vm.Disks!.Select(d => d.DiskId!.Value).Order());
        Assert.Equal("uefi", (await bed.AdminAsync("vms", result.VmId.Value)).GetProperty("boot_type").GetString());
        Assert.Equal("data-disk", (await bed.Client.GetDiskAsync(result.Disks[1].DiskId)).DiskName);
        await TestImages.AssertDiskHoldsAsync(await bed.DiskFileAsync(result.Disks[1].DiskId), dataRaw, dataHash);
        Assert.Contains(phases, p => p.DiskIndex == 1 && p.Phase == StreamingImportPhase.Transferring && p.Transfer is not null);
        Assert.Equal(2, phases.Count(p => p.Phase == StreamingImportPhase.Unexposing));
        Assert.Empty((await bed.StateAsync()).Exposed);
    }

    [Fact]
    public async Task Disks_are_attached_to_an_existing_vm()
    {
        await using var bed = await EmulatorTestBed.StartAsync();
        var bootDisk = await bed.Client.CreateDiskAsync(new CreateDiskRequest { DiskName = "os", Description = "os", DiskSize = 1 });
        var vmId = await bed.Client.CreateVirtualMachineAsync(new CreateVirtualMachineRequest
        {
            Name = "existing", Description = "existing", VCpus = 1, Memory = 512, BootDiskId = bootDisk, StartVm = false,
        });
        var image = await TestImages.MbrAsync(bed.Temp, "extra", "qcow2", seed: 31);

        var result = await new StreamingDiskImport(bed.Client).ImportAsync(new StreamingImportOptions
        {
            Disks = [new StreamingImportSource { ImagePath = image }],
            VmId = vmId,
        });

        Assert.Equal(vmId, result.VmId);
        Assert.False(result.VmCreated);
        var disks = await bed.Client.ListVirtualMachineDisksAsync(vmId);
        Assert.Contains(disks, d => d.DiskId == result.Disks[0].DiskId);
        Assert.Equal(bootDisk, (await bed.Client.GetVirtualMachineAsync(vmId)).BootDiskId);
    }

    [Fact]
    public async Task When_the_exposed_disk_refuses_nbd_the_disk_is_deleted_and_nothing_stays_exposed()
    {
        await using var bed = await EmulatorTestBed.StartAsync();
        var image = await TestImages.MbrAsync(bed.Temp, "refused", "qcow2", seed: 41);
        bed.Emulator.Faults.FailExposes = true;

        var ex = await Assert.ThrowsAsync<StreamingImportException>(() => new StreamingDiskImport(bed.Client).ImportAsync(new StreamingImportOptions
        {
            Disks = [new StreamingImportSource { ImagePath = image }],
            NewVm = new StreamingImportVm { Name = "never" },
        }));

        Assert.Equal(StreamingImportPhase.Exposing, ex.Failure!.Phase);
        var diskId = Assert.Single(ex.DeletedDiskIds);
        Assert.Equal([diskId], ex.Failure.UnexposedDiskIds);
        Assert.Contains($"deleted disk(s) {diskId}", ex.Message, StringComparison.Ordinal);
        var (disks, exposed) = await bed.StateAsync();
        Assert.Empty(disks);
        Assert.Empty(exposed);
        Assert.Empty(await bed.Client.ListVirtualMachinesAsync());
    }

    [Fact]
    public async Task When_exposing_fails_and_the_caller_keeps_disks_the_disk_stays_unexposed()
    {
        await using var bed = await EmulatorTestBed.StartAsync();
        var image = await TestImages.MbrAsync(bed.Temp, "kept", "raw", seed: 42);
        bed.Emulator.Faults.FailOperation("exposeDisk", 500);

        var ex = await Assert.ThrowsAsync<StreamingImportException>(() => new StreamingDiskImport(bed.Client).ImportAsync(new StreamingImportOptions
        {
            Disks = [new StreamingImportSource { ImagePath = image }],
            KeepDisksOnFailure = true,
        }));

        var kept = Assert.Single(ex.KeptDiskIds);
        Assert.Empty(ex.DeletedDiskIds);
        Assert.Contains("exposeDisk", ex.Message, StringComparison.Ordinal);
        var (disks, exposed) = await bed.StateAsync();
        Assert.Equal([kept], disks);
        Assert.Empty(exposed);
    }

    [Fact]
    public async Task An_interrupted_transfer_resumes_into_the_same_disk_and_sends_only_what_is_missing()
    {
        await using var bed = await EmulatorTestBed.StartAsync();
        var image = await TestImages.MbrAsync(bed.Temp, "interrupted", "qcow2", seed: 51);
        var (hash, raw) = await TestImages.ConvertedRawAsync(image, bed.Temp);
        var checkpoints = Directory.CreateDirectory(bed.Temp.File("checkpoints")).FullName;
        var options = new StreamingImportOptions
        {
            Disks = [new StreamingImportSource { ImagePath = image }],
            NewVm = new StreamingImportVm { Name = "resumed" },
            KeepDisksOnFailure = true,
            CheckpointDirectory = checkpoints,
            MaxConnections = 2,

            // Slow enough that the connections are cut mid-way; no retries, so the cut fails the transfer.
            Transfer = new DiskTransferOptions { BandwidthLimit = 16 << 20, MaxRetries = 0, RequestSize = 1 << 20, ProgressInterval = TimeSpan.FromMilliseconds(10) },
        };
        var dropped = 0;
        var cut = new SynchronousProgress<StreamingImportProgress>(p =>
        {
            if (p.Transfer is { BytesWritten: >= 4 << 20 } && Interlocked.Exchange(ref dropped, 1) == 0)
            {
                bed.Emulator.Faults.DropNbdConnections();
            }
        });

        var ex = await Assert.ThrowsAsync<StreamingImportException>(() => new StreamingDiskImport(bed.Client).ImportAsync(options, cut));
        Assert.Equal(StreamingImportPhase.Transferring, ex.Failure!.Phase);
        var diskId = Assert.Single(ex.KeptDiskIds);
        Assert.Empty((await bed.StateAsync()).Exposed);
        Assert.Single(Directory.GetFiles(checkpoints, "*.checkpoint.json"));

        var result = await new StreamingDiskImport(bed.Client).ImportAsync(options with { Transfer = options.Transfer with { BandwidthLimit = null } });

        var disk = Assert.Single(result.Disks);
        Assert.Equal(diskId, disk.DiskId);
        Assert.False(disk.Created);
        Assert.True(disk.Transfer.BytesResumed >= 4 << 20, $"resumed {disk.Transfer.BytesResumed}");
        Assert.True(disk.Transfer.BytesWritten < TestImages.DataBytes - (1 << 20), $"wrote {disk.Transfer.BytesWritten} again");
        await TestImages.AssertDiskHoldsAsync(await bed.DiskFileAsync(diskId), raw, hash);
        var (disks, exposed) = await bed.StateAsync();
        Assert.Equal([diskId], disks);
        Assert.Empty(exposed);
        Assert.Empty(Directory.GetFiles(checkpoints));
    }

    [Fact]
    public async Task A_checkpoint_whose_disk_was_deleted_starts_a_fresh_import()
    {
        await using var bed = await EmulatorTestBed.StartAsync();
        var image = await TestImages.MbrAsync(bed.Temp, "orphaned", "qcow2", seed: 71);
        var checkpoints = bed.Temp.File("checkpoints");
        var options = new StreamingImportOptions
        {
            Disks = [new StreamingImportSource { ImagePath = image }],
            KeepDisksOnFailure = true,
            CheckpointDirectory = checkpoints,
        };
        bed.Emulator.Faults.FailOperation("exposeDisk", 500, times: 1);
        var ex = await Assert.ThrowsAsync<StreamingImportException>(() => new StreamingDiskImport(bed.Client).ImportAsync(options));
        var kept = Assert.Single(ex.KeptDiskIds);
        await bed.Client.DeleteDiskAsync(kept, permanently: true);

        var result = await new StreamingDiskImport(bed.Client).ImportAsync(options);

        var disk = Assert.Single(result.Disks);
        Assert.NotEqual(kept, disk.DiskId);
        Assert.True(disk.Created);
        Assert.Equal([disk.DiskId], (await bed.StateAsync()).Disks);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task Cancelling_mid_way_unexposes_and_deletes_the_disk_unless_asked_to_keep_it(bool keep)
    {
        await using var bed = await EmulatorTestBed.StartAsync();
        var image = await TestImages.MbrAsync(bed.Temp, "cancelled", "vmdk", seed: 61);
        using var cancel = new CancellationTokenSource();
        var progress = new SynchronousProgress<StreamingImportProgress>(p =>
        {
            if (p.Transfer is { BytesWritten: > 0 })
            {
                cancel.Cancel();
            }
        });

        var ex = await Assert.ThrowsAsync<StreamingImportCanceledException>(() => new StreamingDiskImport(bed.Client).ImportAsync(new StreamingImportOptions
        {
            Disks = [new StreamingImportSource { ImagePath = image }],
            NewVm = new StreamingImportVm { Name = "cancelled" },
            KeepDisksOnFailure = keep,
            Transfer = new DiskTransferOptions { BandwidthLimit = 8 << 20, ProgressInterval = TimeSpan.FromMilliseconds(10) },
        }, progress, cancel.Token));

        Assert.Equal(StreamingImportPhase.Transferring, ex.Failure!.Phase);
        var (disks, exposed) = await bed.StateAsync();
        Assert.Empty(exposed);
        Assert.Single(ex.Failure.UnexposedDiskIds);
        Assert.Equal(keep ? ex.Failure.KeptDiskIds : [], disks);
        Assert.Equal(keep ? 0 : 1, ex.Failure.DeletedDiskIds.Count);
        Assert.Empty(await bed.Client.ListVirtualMachinesAsync());
    }

    private sealed class SynchronousProgress<T>(Action<T> report) : IProgress<T>
    {
        public void Report(T value) => report(value);
    }
}
