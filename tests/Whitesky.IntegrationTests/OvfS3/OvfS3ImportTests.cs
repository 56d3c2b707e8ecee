using Whitesky.Api.Models;
using Whitesky.Emulator;
using Whitesky.Emulator.Importing;
using Whitesky.Migration.Ovf;
using Whitesky.Migration.Paths.Ovf;
using Whitesky.Migration.S3;

namespace Whitesky.IntegrationTests.OvfS3;

/// <summary>
/// Path A end to end: the SDK packages, validates and uploads to s3rver, the emulator's import-vm-s3 downloads the
/// object, decodes its disks and makes the VM; disk content is compared with qemu-img convert -O raw of the source.
/// </summary>
public class OvfS3ImportTests
{
    private const long MiB = 1 << 20;

    [Fact]
    public async Task An_ova_built_by_the_sdk_from_a_qcow2_imports_with_the_ovf_hardware_and_the_source_content()
    {
        await using var bed = await OvfS3TestBed.StartAsync();
        var qcow2 = await bed.MakeQcow2Async("web01", 96 * MiB, (0, 3 * (int)MiB, 1), (50 * MiB + 4096, 1_000_000, 2));
        var ova = bed.Dir.File("web01.ova");
        await OvaBuilder.BuildAsync([qcow2], ova, new OvaBuildOptions
        {
            Name = "web01", Cpus = 4, MemoryMiB = 3072, Firmware = OvfFirmware.Efi, OsType = "Linux", OsName = "Ubuntu 20.04",
        });
        var stages = new List<OvfS3ImportStage>();

        var result = await bed.CreateImport().ImportAsync(bed.Options(ova), new SyncProgress<OvfS3ImportProgress>(p => stages.Add(p.Stage)));

        Assert.Equal(new OvfS3ImportHardware("web01", 4, 3072, "uefi", "Linux", "Ubuntu 20.04"), result.Hardware);
        Assert.False(result.PackageBuilt);
        Assert.Equal(["Validating", "Uploading", "Importing", "Completed"], stages.Distinct().Select(s => s.ToString()));
        var vm = await bed.Client.GetVirtualMachineAsync(result.VmId);
        Assert.Equal(("RUNNING", "web01", 4L, 3072L, BootType.Uefi), (vm.Status, vm.Name, vm.VCpus!.Value, vm.Memory!.Value, vm.BootType!.Value));
        var admin = await bed.AdminAsync($"/vms/{result.VmId}");
        Assert.Equal(("Linux", "Ubuntu 20.04"), (admin.GetProperty("os_type").GetString(), admin.GetProperty("os_name").GetString()));
        var disk = Assert.Single(vm.Disks!);
        Assert.Equal(vm.BootDiskId, disk.DiskId);
        var expected = await bed.QemuRawAsync(qcow2);
        Assert.Equal(expected.Sha256, await bed.DiskSha256Async(disk.DiskId!.Value, expected.Length));
        Assert.Equal(["web01.ova"], await bed.ListObjectsAsync());
    }

    [Fact]
    public async Task A_vmware_export_packed_by_tar_imports_every_disk_in_order_with_its_content()
    {
        await using var bed = await OvfS3TestBed.StartAsync();
        var boot = await bed.MakeQcow2Async("app-boot", 64 * MiB, (0, 2 * (int)MiB, 3), (63 * MiB, (int)MiB, 4));
        var data = await bed.MakeQcow2Async("app-data", 32 * MiB, (8 * MiB, 512 * 1024, 5));
        var ova = await VmwarePackage.BuildAsync(bed.Dir, "app02", [boot, data], cpus: 3, memoryMiB: 1536);

        var result = await bed.CreateImport().ImportAsync(bed.Options(ova) with { DeleteObjectAfterImport = true, Description = "from vSphere" });

        Assert.Equal(new OvfS3ImportHardware("app02", 3, 1536, "uefi", "Linux", "Ubuntu 20.04"), result.Hardware);
        var vm = await bed.Client.GetVirtualMachineAsync(result.VmId);
        Assert.Equal(("RUNNING", "from vSphere"), (vm.Status, vm.Description));
        Assert.Equal(2, vm.Disks!.Count);
        var disks = vm.Disks.OrderBy(d => d.DiskId).ToList();
        Assert.Equal(vm.BootDiskId, disks[0].DiskId);
        foreach (var (disk, source) in disks.Zip([boot, data]))
        {
            var expected = await bed.QemuRawAsync(source);
            Assert.Equal(expected.Sha256, await bed.DiskSha256Async(disk.DiskId!.Value, expected.Length));
        }

        Assert.True(result.ObjectDeleted);
        Assert.Empty(await bed.ListObjectsAsync());
    }

    [Fact]
    public async Task The_emulator_imports_an_ovf_object_whose_files_are_objects_beside_it()
    {
        await using var bed = await OvfS3TestBed.StartAsync();
        var boot = await bed.MakeQcow2Async("app03-boot", 16 * MiB, (MiB, 3 * (int)MiB, 12));
        await VmwarePackage.BuildAsync(bed.Dir, "app03", [boot], cpus: 2, memoryMiB: 2048);
        using (var s3 = bed.Storage.CreateClient())
        {
            foreach (var file in Directory.GetFiles(bed.Dir.File("app03-export")))
            {
                await s3.PutObjectAsync(new Amazon.S3.Model.PutObjectRequest
                {
                    BucketName = OvfS3TestBed.Bucket, Key = "exports/app03/" + Path.GetFileName(file), FilePath = file, UseChunkEncoding = false,
                });
            }
        }

        var vmId = await bed.Client.ImportVirtualMachineFromS3Async(new ImportVmFromS3Request
        {
            Link = bed.S3.Endpoint.ToString(), Key = bed.S3.AccessKey, Secret = bed.S3.SecretKey, Region = "us-east-1",
            Bucket = OvfS3TestBed.Bucket, ObjectName = "exports/app03/app03.ovf", Name = "app03", Description = "ovf object",
            VCpus = 2, Memory = 2048, BootType = BootType.Uefi, OsType = OsType.Linux, OsName = new OsName("Ubuntu 20.04"),
        });
        var vm = await bed.Client.WaitForVirtualMachineRunningAsync(vmId, TimeSpan.FromSeconds(60));

        var expected = await bed.QemuRawAsync(boot);
        Assert.Equal(expected.Sha256, await bed.DiskSha256Async(Assert.Single(vm.Disks!).DiskId!.Value, expected.Length));
    }

    [Fact]
    public async Task An_upload_cancelled_after_two_parts_resumes_sending_only_the_missing_parts_and_imports()
    {
        await using var bed = await OvfS3TestBed.StartAsync();
        var qcow2 = await bed.MakeQcow2Async("big", 64 * MiB, (0, 21 * (int)MiB, 7));
        var options = bed.Options(qcow2) with
        {
            Name = "big01", Vcpus = 1, MemoryMiB = 1024,
            Upload = new S3UploadOptions { PartSize = S3UploadOptions.MinimumPartSize, MaxConcurrency = 1 },
        };
        using var cts = new CancellationTokenSource();
        var progress = new SyncProgress<OvfS3ImportProgress>(p =>
        {
            if (p.Stage == OvfS3ImportStage.Uploading && p.BytesDone >= 2 * S3UploadOptions.MinimumPartSize)
            {
                cts.Cancel();
            }
        });

        var canceled = await Assert.ThrowsAsync<OvfS3ImportCanceledException>(() => bed.CreateImport().ImportAsync(options, progress, cts.Token));

        Assert.Equal(OvfS3ImportStage.Uploading, canceled.Stage);
        Assert.Contains("cancelled while uploading", canceled.Message, StringComparison.Ordinal);
        Assert.Null(canceled.VmId);
        var checkpoint = canceled.Checkpoint!;
        var held = checkpoint.Parts.Count;
        Assert.Equal(2, held);
        Assert.Equal(held, bed.Wire.PartsAccepted);
        Assert.Empty(await bed.ListObjectsAsync());
        Assert.Empty(await bed.Client.ListVirtualMachinesAsync());
        var package = canceled.PackagePath!;
        var total = (int)((new FileInfo(package).Length + S3UploadOptions.MinimumPartSize - 1) / S3UploadOptions.MinimumPartSize);
        Assert.True(total >= 4, $"the OVA has {total} parts");

        bed.Wire.Reset();
        var result = await bed.CreateImport().ImportAsync(options with { Source = package, Upload = options.Upload with { Resume = checkpoint } });

        Assert.Equal(total - held, bed.Wire.PartsAccepted);
        Assert.Equal((total - held, held, checkpoint.UploadId), (result.Upload.PartsUploaded, result.Upload.PartsReused, result.Upload.UploadId));
        var vm = await bed.Client.GetVirtualMachineAsync(result.VmId);
        Assert.Equal(("RUNNING", "big01", 1L, 1024L), (vm.Status, vm.Name, vm.VCpus!.Value, vm.Memory!.Value));
        var expected = await bed.QemuRawAsync(qcow2);
        Assert.Equal(expected.Sha256, await bed.DiskSha256Async(Assert.Single(vm.Disks!).DiskId!.Value, expected.Length));
    }

    [Fact]
    public async Task An_import_that_never_completes_times_out_with_a_clear_error_and_its_vm_deleted()
    {
        await using var bed = await OvfS3TestBed.StartAsync();
        bed.Emulator.Faults.StallImports = true;
        var qcow2 = await bed.MakeQcow2Async("stuck", 16 * MiB, (0, 65536, 8));

        var error = await Assert.ThrowsAsync<OvfS3ImportException>(() =>
            bed.CreateImport().ImportAsync(bed.Options(qcow2) with { ImportTimeout = TimeSpan.FromSeconds(1) }));

        Assert.Equal(OvfS3ImportStage.Importing, error.Stage);
        Assert.IsType<TimeoutException>(error.InnerException);
        Assert.Contains("did not finish importing within 00:00:01 (last status: IMPORTING)", error.Message, StringComparison.Ordinal);
        Assert.Contains($"VM {error.VmId} and its disks were deleted", error.Message, StringComparison.Ordinal);
        Assert.True(error.VmDeleted);
        Assert.Empty(await bed.Client.ListVirtualMachinesAsync());
        Assert.Equal(["stuck.ova"], await bed.ListObjectsAsync());
    }

    [Fact]
    public async Task Cancelling_while_the_platform_imports_deletes_the_vm_and_the_disks_it_made()
    {
        var importer = new DiskThenHangImporter();
        await using var bed = await OvfS3TestBed.StartAsync(new WhiteskyEmulatorOptions { VmImporter = importer });
        var qcow2 = await bed.MakeQcow2Async("halfway", 16 * MiB, (0, 65536, 9));
        using var cts = new CancellationTokenSource();
        _ = importer.DiskMade.Task.ContinueWith(_ => cts.Cancel(), TaskScheduler.Default);

        var canceled = await Assert.ThrowsAsync<OvfS3ImportCanceledException>(() => bed.CreateImport().ImportAsync(bed.Options(qcow2), null, cts.Token));

        Assert.Equal(OvfS3ImportStage.Importing, canceled.Stage);
        Assert.Contains("cancelled while whitesky was importing the VM", canceled.Message, StringComparison.Ordinal);
        Assert.Contains($"VM {canceled.VmId} and its disks were deleted", canceled.Message, StringComparison.Ordinal);
        Assert.True(canceled.VmDeleted);
        Assert.Empty(await bed.Client.ListVirtualMachinesAsync());
        Assert.Empty(await bed.Client.ListDisksAsync(includeDeleted: true));
        await importer.Ended.Task.WaitAsync(TimeSpan.FromSeconds(30));
    }

    [Fact]
    public async Task Cancelling_with_keep_vm_on_failure_leaves_the_vm_and_says_so()
    {
        await using var bed = await OvfS3TestBed.StartAsync();
        bed.Emulator.Faults.StallImports = true;
        var qcow2 = await bed.MakeQcow2Async("kept", 16 * MiB, (0, 65536, 10));
        using var cts = new CancellationTokenSource();
        var progress = new SyncProgress<OvfS3ImportProgress>(p =>
        {
            if (p is { Stage: OvfS3ImportStage.Importing, VmStatus: "IMPORTING" })
            {
                cts.Cancel();
            }
        });

        var canceled = await Assert.ThrowsAsync<OvfS3ImportCanceledException>(() =>
            bed.CreateImport().ImportAsync(bed.Options(qcow2) with { KeepVmOnFailure = true }, progress, cts.Token));

        Assert.Contains($"VM {canceled.VmId} was kept as asked", canceled.Message, StringComparison.Ordinal);
        Assert.False(canceled.VmDeleted);
        var vm = Assert.Single(await bed.Client.ListVirtualMachinesAsync());
        Assert.Equal((canceled.VmId, "IMPORTING"), (vm.VmId, vm.Status));
    }

    [Fact]
    public async Task A_package_whose_manifest_does_not_match_fails_validation_and_nothing_is_uploaded()
    {
        await using var bed = await OvfS3TestBed.StartAsync();
        var boot = await bed.MakeQcow2Async("bad-boot", 16 * MiB, (0, 65536, 11));
        var ova = await VmwarePackage.BuildAsync(bed.Dir, "bad01", [boot], cpus: 1, memoryMiB: 512,
            tamperManifest: m => m.Replace("vmdk)= ", "vmdk)= 00", StringComparison.Ordinal)[..^3] + "\n");

        var error = await Assert.ThrowsAsync<OvfS3ImportException>(() => bed.CreateImport().ImportAsync(bed.Options(ova)));

        Assert.Equal(OvfS3ImportStage.Validating, error.Stage);
        var finding = Assert.Single(error.Report!.Errors);
        Assert.Equal((OvfFindingCodes.DigestMismatch, "bad01-disk1.vmdk"), (finding.Code, finding.Subject));
        Assert.Contains("failed validation, nothing was uploaded", error.Message, StringComparison.Ordinal);
        Assert.Contains("bad01-disk1.vmdk", error.Message, StringComparison.Ordinal);
        Assert.Equal(0, bed.Wire.PartsAccepted);
        Assert.Empty(await bed.ListObjectsAsync());
        Assert.Empty(await bed.Client.ListVirtualMachinesAsync());
    }

    /// <summary>Makes one disk, then hangs until the import is cancelled (its VM deleted).</summary>
    private sealed class DiskThenHangImporter : IVmImporter
    {
        public TaskCompletionSource DiskMade { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public TaskCompletionSource Ended { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public async Task<IReadOnlyList<int>> ImportAsync(VmImportRequest request, IVmImportTarget target, CancellationToken cancellationToken)
        {
            try
            {
                await target.CreateDiskAsync(request.Name + "-disk1", 1, cancellationToken);
                DiskMade.SetResult();
                await Task.Delay(Timeout.Infinite, cancellationToken);
                return [];
            }
            finally
            {
                Ended.TrySetResult();
            }
        }
    }

    private sealed class SyncProgress<T>(Action<T> report) : IProgress<T>
    {
        public void Report(T value) => report(value);
    }
}
