using System.Net;
using System.Text.Json;
using Whitesky.Emulator.Importing;

namespace Whitesky.Emulator.Tests;

/// <summary>import-vm-s3: the built-in importer by default; with one plugged in, the VM reports IMPORTING and then runs with the disks made.</summary>
public class ImportTests
{
    private static readonly object Body = new
    {
        link = "http://127.0.0.1:9",
        key = "AKIA",
        secret = "very-secret",
        region = "us-east-1",
        bucket = "vms",
        object_name = "web.ova",
        name = "web",
        description = "imported",
        vcpus = 2,
        memory = 2048,
        boot_type = "uefi",
        os_type = "Linux",
        os_name = "Linux - other",
    };

    [Fact]
    public async Task Without_an_importer_plugged_in_the_built_in_one_answers_at_once_and_an_unreachable_link_ends_in_error()
    {
        await using var emulator = await WhiteskyEmulator.StartAsync();
        using var http = new EmulatorHttp(emulator);
        var answer = await http.OkAsync(HttpMethod.Post, $"{http.Cloudspace}/vms/import-vm-s3", EmulatorHttp.Json(Body));
        var vm = answer.GetProperty("vm_id").GetInt32();
        Assert.DoesNotContain("very-secret", answer.ToString(), StringComparison.Ordinal);
        await WaitForStatusAsync(http, vm, "ERROR");
        var error = (await http.AdminAsync(HttpMethod.Get, $"/vms/{vm}")).GetProperty("import_error").GetString();
        Assert.Contains("web.ova", error, StringComparison.Ordinal);
        Assert.DoesNotContain("very-secret", error, StringComparison.Ordinal);
        var missing = await http.ExpectAsync(HttpStatusCode.BadRequest, HttpMethod.Post, $"{http.Cloudspace}/vms/import-vm-s3", EmulatorHttp.Json(new { name = "x" }));
        Assert.True(missing.GetProperty("errors").TryGetProperty("bucket", out _));
    }

    [Fact]
    public async Task A_plugged_in_importer_fills_disks_while_the_vm_reports_its_progress()
    {
        var importer = new GatedImporter();
        await using var emulator = await WhiteskyEmulator.StartAsync(new WhiteskyEmulatorOptions { VmImporter = importer });
        using var http = new EmulatorHttp(emulator);
        var vm = (await http.OkAsync(HttpMethod.Post, $"{http.Cloudspace}/vms/import-vm-s3", EmulatorHttp.Json(Body))).GetProperty("vm_id").GetInt32();

        await importer.Started.Task.WaitAsync(TimeSpan.FromSeconds(30));
        Assert.Equal("IMPORTING 50%", (await VmTests.GetVmAsync(http, vm)).GetProperty("status").GetString());
        Assert.Equal("very-secret", importer.Request!.Secret);
        Assert.DoesNotContain("very-secret", importer.Request.ToString(), StringComparison.Ordinal);
        importer.Release.SetResult();

        var info = await WaitForStatusAsync(http, vm, "RUNNING");
        Assert.Equal(importer.DiskId, info.GetProperty("boot_disk_id").GetInt32());
        Assert.Equal("uefi", info.GetProperty("boot_type").GetString());
        var path = (await http.AdminAsync(HttpMethod.Get, $"/disks/{importer.DiskId}")).GetProperty("path").GetString()!;
        Assert.Equal("imported"u8.ToArray(), await ExposeTests.ReadFileRangeAsync(path, 0, 8));
    }

    [Fact]
    public async Task A_failing_import_leaves_the_vm_in_error()
    {
        await using var emulator = await WhiteskyEmulator.StartAsync(new WhiteskyEmulatorOptions { VmImporter = new FailingImporter() });
        using var http = new EmulatorHttp(emulator);
        var vm = (await http.OkAsync(HttpMethod.Post, $"{http.Cloudspace}/vms/import-vm-s3", EmulatorHttp.Json(Body))).GetProperty("vm_id").GetInt32();
        await WaitForStatusAsync(http, vm, "ERROR");
    }

    private static async Task<JsonElement> WaitForStatusAsync(EmulatorHttp http, int vm, string status)
    {
        using var deadline = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        while (true)
        {
            var info = await VmTests.GetVmAsync(http, vm);
            if (info.GetProperty("status").GetString() == status)
            {
                return info;
            }

            await Task.Delay(20, deadline.Token);
        }
    }

    private sealed class GatedImporter : IVmImporter
    {
        public TaskCompletionSource Started { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public TaskCompletionSource Release { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public VmImportRequest? Request { get; private set; }

        public int DiskId { get; private set; }

        public async Task<IReadOnlyList<int>> ImportAsync(VmImportRequest request, IVmImportTarget target, CancellationToken cancellationToken)
        {
            Request = request;
            var disk = await target.CreateDiskAsync("web-disk0", 1, cancellationToken);
            DiskId = disk.DiskId;
            await using (var file = new FileStream(disk.Path, FileMode.Open, FileAccess.Write, FileShare.ReadWrite))
            {
                await file.WriteAsync("imported"u8.ToArray(), cancellationToken);
            }

            target.ReportStatus("IMPORTING 50%");
            Started.SetResult();
            await Release.Task.WaitAsync(cancellationToken);
            return [disk.DiskId];
        }
    }

    private sealed class FailingImporter : IVmImporter
    {
        public Task<IReadOnlyList<int>> ImportAsync(VmImportRequest request, IVmImportTarget target, CancellationToken cancellationToken) =>
            throw new InvalidDataException("not an OVA");
    }
}
