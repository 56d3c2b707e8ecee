using System.Globalization;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;
using Whitesky.Emulator.Http;
using Whitesky.Emulator.Importing;
using Whitesky.Emulator.Models;
using Whitesky.Emulator.State;

namespace Whitesky.Emulator.Routes;

internal sealed partial class EmulatorApi
{
    private readonly CancellationTokenSource _stopping = new();
    private readonly List<Task> _imports = [];
    private readonly S3OvfVmImporter _builtInImporter = new();

    private async Task<IResult> ImportVmAsync(ApiCall call)
    {
        var body = (await call.BodyAsync(JsonInfo<ImportVmS3ArgsModel>(), required: true).ConfigureAwait(false))!;
        RequireBody(("boot_type", body.BootType), ("bucket", body.Bucket), ("description", body.Description), ("key", body.Key),
            ("link", body.Link), ("memory", body.Memory), ("name", body.Name), ("object_name", body.ObjectName), ("os_name", body.OsName),
            ("os_type", body.OsType), ("region", body.Region), ("secret", body.Secret), ("vcpus", body.Vcpus));
        var importer = Options.VmImporter ?? _builtInImporter;

        var request = new VmImportRequest
        {
            Link = body.Link!,
            Key = body.Key!,
            Secret = body.Secret!,
            Region = body.Region!,
            Bucket = body.Bucket!,
            ObjectName = body.ObjectName!,
            Name = body.Name!,
            Description = body.Description!,
            Vcpus = body.Vcpus!.Value,
            Memory = body.Memory!.Value,
            BootType = body.BootType!,
            OsType = body.OsType!,
            OsName = body.OsName!,
            PrivateIp = body.PrivateIp,
            Strict = body.Strict ?? false,
            CallbackUrl = body.CallbackUrl,
        };
        VmRecord vm;
        using (await LockAsync(call.Aborted).ConfigureAwait(false))
        {
            var now = Options.TimeProvider.GetUtcNow();
            vm = new VmRecord
            {
                Id = NextId(),
                Name = request.Name,
                Description = request.Description,
                Hostname = request.Name,
                Vcpus = request.Vcpus,
                Memory = request.Memory,
                Status = VmStatus.Importing,
                BootType = request.BootType,
                OsType = request.OsType,
                OsName = request.OsName,
                PrivateIp = request.PrivateIp,
                EnableVmAgent = true,
                CreationTime = now,
                UpdateTime = now,
            };
            _vms.Add(vm.Id, vm);
            lock (_imports)
            {
                _imports.Add(RunImportAsync(importer, request, vm));
            }
        }

        return Ok(new VmIdModel(vm.Id));
    }

    private async Task RunImportAsync(IVmImporter importer, VmImportRequest request, VmRecord vm)
    {
        await Task.Yield();
        using var import = CancellationTokenSource.CreateLinkedTokenSource(_stopping.Token);
        vm.Import = import;
        var scratch = Path.Combine(DataDirectory, "imports", "vm-" + vm.Id.ToString(CultureInfo.InvariantCulture));
        var target = new ImportTarget(this, vm, scratch);
        try
        {
            Directory.CreateDirectory(scratch);
            if (Faults.StallImports)
            {
                // An import that never completes: only deleting the VM or stopping the emulator ends it.
                await Task.Delay(Timeout.Infinite, import.Token).ConfigureAwait(false);
            }

            var disks = await importer.ImportAsync(request, target, import.Token).ConfigureAwait(false);
            using var _ = await LockAsync(import.Token).ConfigureAwait(false);
            import.Token.ThrowIfCancellationRequested();
            foreach (var id in disks)
            {
                var disk = FindDisk(id);
                if (disk.VmId is null)
                {
                    Attach(vm, disk);
                }
            }

            vm.BootDiskId = disks.Count > 0 ? disks[0] : null;
            vm.Status = VmStatus.Running;
            vm.Import = null;
            Touch(vm);
        }
#pragma warning disable CA1031 // Whatever the importer throws becomes the VM's ERROR status, as on the platform.
        catch (Exception ex)
#pragma warning restore CA1031
        {
            using var _ = await LockAsync(CancellationToken.None).ConfigureAwait(false);
            vm.Import = null;
            if (vm.DeletionTime is null && _vms.ContainsKey(vm.Id))
            {
                // A VM deleted during its import stays deleted; any other end is the VM's ERROR status.
                LogImportFailed(_logger, vm.Id, ex);
                vm.ImportError = ex is OperationCanceledException ? "the emulator stopped during the import" : ex.Message;
                vm.Status = VmStatus.Error;
                Touch(vm);
            }
        }
        finally
        {
            try
            {
                Directory.Delete(scratch, recursive: true);
            }
            catch (IOException)
            {
                // Best effort: the folder is inside the emulator's data directory.
            }
            catch (UnauthorizedAccessException)
            {
            }
        }
    }

    private sealed class ImportTarget(EmulatorApi api, VmRecord vm, string scratch) : IVmImportTarget
    {
        public int VmId => vm.Id;

        public string ScratchDirectory => scratch;

        public async Task<EmulatorDiskFile> CreateDiskAsync(string name, int sizeGb, CancellationToken cancellationToken)
        {
            ArgumentException.ThrowIfNullOrEmpty(name);
            CheckDiskSize(sizeGb);
            using var _ = await api.LockAsync(cancellationToken).ConfigureAwait(false);
            if (vm.DeletionTime is not null || !api._vms.ContainsKey(vm.Id))
            {
                throw new OperationCanceledException($"virtual machine {vm.Id} was deleted during its import");
            }

            var disk = api.NewDisk(name, "Imported disk of " + vm.Name, sizeGb, 2000, "DATA");
            api.Attach(vm, disk);
            return new EmulatorDiskFile(disk.Id, disk.Path);
        }

        public void ReportStatus(string status)
        {
            ArgumentException.ThrowIfNullOrEmpty(status);
            vm.Status = status;
        }
    }

    private async Task StopImportsAsync()
    {
        await _stopping.CancelAsync().ConfigureAwait(false);
        Task[] imports;
        lock (_imports)
        {
            imports = [.. _imports];
        }

        await Task.WhenAll(imports).ConfigureAwait(false);
        _stopping.Dispose();
    }

    [LoggerMessage(EventId = 2, Level = LogLevel.Warning, Message = "Import of virtual machine {VmId} failed")]
    private static partial void LogImportFailed(ILogger logger, int vmId, Exception exception);
}
