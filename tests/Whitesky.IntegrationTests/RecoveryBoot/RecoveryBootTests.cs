using Microsoft.Extensions.DependencyInjection;
using Whitesky.Emulator;
using Whitesky.Migration.Paths.Recovery;
using Whitesky.Nbd.Tests.Peers;

namespace Whitesky.IntegrationTests.RecoveryBoot;

/// <summary>Path C end to end against the embedded emulator: the ISO upload, the VM with its medium, the finish step.</summary>
public class RecoveryBootTests
{
    /// <summary>Small parts, so that a small ISO has several.</summary>
    private const int PartSize = 64 << 10;

    private static Task<EmulatorTestBed> StartAsync() => EmulatorTestBed.StartAsync(new WhiteskyEmulatorOptions { CdromPartSize = PartSize });

    private static async Task<string> IsoAsync(EmulatorTestBed bed, int length, int seed)
    {
        var path = bed.Temp.File($"recovery-{seed}.iso");
        await File.WriteAllBytesAsync(path, TestData.Random(length, seed));
        return path;
    }

    [Fact]
    public async Task An_uploaded_iso_boots_a_new_vm_with_an_empty_boot_disk_of_the_requested_size()
    {
        await using var bed = await StartAsync();
        var iso = await IsoAsync(bed, (5 * PartSize) + 1234, seed: 1);
        var uploaded = new List<long>();

        var result = await new RecoveryBootImport(bed.Client).StartAsync(new RecoveryBootOptions
        {
            IsoPath = iso,
            VmName = "restore-target",
            DiskSizeGb = 3,
        }, new SynchronousProgress<RecoveryBootProgress>(p => { lock (uploaded) { uploaded.Add(p.UploadedBytes); } }));

        Assert.Equal(RecoveryMedium.UploadedIso, result.Medium);
        Assert.Equal(new IsoUploadSummary(new FileInfo(iso).Length, PartSize, 6, 6, 0), result.Upload);
        var cdrom = await bed.AdminAsync("cdroms", result.CdromId!.Value);
        Assert.Equal(await TestData.Sha256FileAsync(iso), await TestData.Sha256FileAsync(cdrom.GetProperty("path").GetString()!));
        Assert.Equal(new FileInfo(iso).Length, uploaded.Max());

        var vm = await bed.AdminAsync("vms", result.VmId);
        Assert.Equal("RUNNING", vm.GetProperty("status").GetString());
        Assert.Equal("RUNNING", result.VmStatus);
        Assert.Equal([result.CdromId.Value], vm.GetProperty("cdrom_ids").EnumerateArray().Select(e => e.GetInt64()));
        Assert.Equal(result.BootDiskId, vm.GetProperty("boot_disk_id").GetInt64());
        Assert.Equal(3, (await bed.Client.GetDiskAsync(result.BootDiskId)).DiskSize);
        Assert.Contains($"recovery-boot finish {result.VmId}", result.Instructions, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_resumed_upload_sends_only_the_missing_parts()
    {
        await using var bed = await StartAsync();
        var iso = await IsoAsync(bed, 6 * PartSize, seed: 2);
        var checkpoint = bed.Temp.File("upload.json");
        var options = new RecoveryBootOptions { IsoPath = iso, VmName = "resumed", DiskSizeGb = 1, UploadCheckpointPath = checkpoint, UploadParallelism = 1 };

        // After two parts the platform starts refusing parts: the upload fails with two parts done.
        var failing = new SynchronousProgress<RecoveryBootProgress>(p =>
        {
            if (p.UploadedBytes == 2 * PartSize)
            {
                bed.Emulator.Faults.FailOperation("UploadCDROMPart", 500);
            }
        });
        var ex = await Assert.ThrowsAsync<RecoveryBootException>(() => new RecoveryBootImport(bed.Client).StartAsync(options, failing));
        Assert.Equal(RecoveryBootPhase.Uploading, ex.Phase);
        Assert.Null(ex.VmId);
        Assert.Contains("UploadCDROMPart", ex.Message, StringComparison.Ordinal);
        Assert.True(File.Exists(checkpoint));

        bed.Emulator.Faults.Reset();
        var result = await new RecoveryBootImport(bed.Client).StartAsync(options with { UploadParallelism = 4 });

        Assert.Equal(new IsoUploadSummary(6 * PartSize, PartSize, 6, PartsSent: 4, PartsResumed: 2), result.Upload);
        var cdrom = await bed.AdminAsync("cdroms", result.CdromId!.Value);
        Assert.Equal(await TestData.Sha256FileAsync(iso), await TestData.Sha256FileAsync(cdrom.GetProperty("path").GetString()!));
        Assert.False(File.Exists(checkpoint));
    }

    [Theory]
    [InlineData("acronis")]
    [InlineData("veeam")]
    public async Task The_vendor_flags_are_recorded_on_a_vm_without_a_cdrom(string vendor)
    {
        await using var bed = await StartAsync();

        var result = await new RecoveryBootImport(bed.Client).StartAsync(new RecoveryBootOptions
        {
            Acronis = vendor == "acronis",
            Veeam = vendor == "veeam",
            VmName = vendor,
            DiskSizeGb = 2,
            Start = false,
        });

        var vm = await bed.AdminAsync("vms", result.VmId);
        Assert.Equal(vendor == "acronis", vm.GetProperty("acronis").GetBoolean());
        Assert.Equal(vendor == "veeam", vm.GetProperty("veeam").GetBoolean());
        Assert.Empty(vm.GetProperty("cdrom_ids").EnumerateArray());
        Assert.Equal("CREATED", vm.GetProperty("status").GetString());
        Assert.Null(result.CdromId);
        Assert.Equal(2, (await bed.Client.GetDiskAsync(result.BootDiskId)).DiskSize);
        Assert.Contains(vendor == "acronis" ? "Acronis" : "Veeam", result.Instructions, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Finishing_detaches_the_cdrom_and_boots_from_the_restored_disk()
    {
        await using var bed = await StartAsync();
        var iso = await IsoAsync(bed, PartSize, seed: 3);
        var recovery = new RecoveryBootImport(bed.Client);
        var started = await recovery.StartAsync(new RecoveryBootOptions { IsoPath = iso, VmName = "finish-me", DiskSizeGb = 1 });

        // A second run reuses the CD-ROM image instead of uploading again.
        var second = await recovery.StartAsync(new RecoveryBootOptions { CdromId = started.CdromId, VmName = "again", DiskSizeGb = 1, Start = false });
        Assert.Equal(RecoveryMedium.ExistingCdrom, second.Medium);
        Assert.Null(second.Upload);

        var finished = await recovery.FinishAsync(started.VmId);

        Assert.Equal([started.CdromId!.Value], finished.DetachedCdromIds);
        Assert.Equal(started.BootDiskId, finished.BootDiskId);
        Assert.True(finished.Restarted);
        var vm = await bed.AdminAsync("vms", started.VmId);
        Assert.Empty(vm.GetProperty("cdrom_ids").EnumerateArray());
        Assert.Equal(started.BootDiskId, vm.GetProperty("boot_disk_id").GetInt64());
        Assert.Equal("RUNNING", vm.GetProperty("status").GetString());
    }

    [Fact]
    public async Task When_the_vm_cannot_start_it_is_deleted_and_the_uploaded_cdrom_is_kept()
    {
        await using var bed = await StartAsync();
        var iso = await IsoAsync(bed, PartSize, seed: 4);
        bed.Emulator.Faults.FailOperation("startVirtualMachine", 500);

        var ex = await Assert.ThrowsAsync<RecoveryBootException>(() => new RecoveryBootImport(bed.Client).StartAsync(
            new RecoveryBootOptions { IsoPath = iso, VmName = "doomed", DiskSizeGb = 1 }));

        Assert.Equal(RecoveryBootPhase.Starting, ex.Phase);
        Assert.True(ex.VmDeleted);
        Assert.NotNull(ex.CdromId);
        Assert.Contains("was kept", ex.Message, StringComparison.Ordinal);
        Assert.Empty(await bed.Client.ListVirtualMachinesAsync());
        Assert.Empty(await bed.Client.ListDisksAsync());
        Assert.NotNull(await bed.Client.GetCdromAsync(ex.CdromId.Value));
    }

    [Fact]
    public async Task Cancelling_the_upload_keeps_its_checkpoint_and_creates_no_vm()
    {
        await using var bed = await StartAsync();
        var iso = await IsoAsync(bed, 8 * PartSize, seed: 5);
        var checkpoint = bed.Temp.File("cancelled.json");
        using var cancel = new CancellationTokenSource();
        var progress = new SynchronousProgress<RecoveryBootProgress>(p =>
        {
            if (p.UploadedBytes >= PartSize)
            {
                cancel.Cancel();
            }
        });

        var ex = await Assert.ThrowsAsync<RecoveryBootCanceledException>(() => new RecoveryBootImport(bed.Client).StartAsync(
            new RecoveryBootOptions { IsoPath = iso, VmName = "cancelled", DiskSizeGb = 1, UploadCheckpointPath = checkpoint, UploadParallelism = 1 }, progress, cancel.Token));

        Assert.Contains("while uploading the ISO", ex.Message, StringComparison.Ordinal);
        Assert.Contains(checkpoint, ex.Message, StringComparison.Ordinal);
        Assert.True(File.Exists(checkpoint));
        Assert.Empty(await bed.Client.ListVirtualMachinesAsync());
        Assert.Empty(await bed.Client.ListDisksAsync());
    }

    [Fact]
    public async Task Both_paths_come_from_dependency_injection()
    {
        await using var bed = await StartAsync();
        var services = new Microsoft.Extensions.DependencyInjection.ServiceCollection();
        services.AddWhiteskyApi(o =>
        {
            o.BaseUrl = bed.Emulator.BaseUrl;
            o.Jwt = bed.Emulator.Jwt;
            o.CustomerId = bed.Emulator.CustomerId;
            o.CloudspaceId = bed.Emulator.CloudspaceId;
            o.Location = bed.Emulator.Location;
        }).AddWhiteskyMigration();
        await using var provider = services.BuildServiceProvider();

        Assert.NotNull(provider.GetRequiredService<Whitesky.Migration.Paths.Streaming.StreamingDiskImport>());
        var result = await provider.GetRequiredService<RecoveryBootImport>().StartAsync(new RecoveryBootOptions { Veeam = true, VmName = "di", DiskSizeGb = 1, Start = false });
        Assert.True((await bed.AdminAsync("vms", result.VmId)).GetProperty("veeam").GetBoolean());
    }

    private sealed class SynchronousProgress<T>(Action<T> report) : IProgress<T>
    {
        public void Report(T value) => report(value);
    }
}
