using System.Text.Json;
using Whitesky.Api;
using Whitesky.Api.Models;
using Whitesky.Emulator;
using Whitesky.Migrate.Tests.Support;
using Whitesky.Nbd.Tests.Peers;

namespace Whitesky.Migrate.Tests;

/// <summary><c>import disk</c> and <c>recovery-boot</c>: against the embedded emulator (no configuration) and against one given by options.</summary>
public sealed class PathCommandsTests
{
    private static async Task<(int Code, string Output, string Error)> RunAsync(params string[] args)
    {
        var result = await MigrateCli.RunAsync(args);
        return (result.ExitCode, result.StdOut, result.StdErr);
    }

    private static async Task<string> GptImageAsync(TempDirectory dir)
    {
        var raw = dir.File("guest.raw");
        await using (var file = File.Create(raw))
        {
            file.SetLength(48L << 20);
            file.Position = 20L << 20;
            await file.WriteAsync(TestData.Random(3 << 20, seed: 5));
        }

        await ExternalTool.RunAsync("sh", ["-c", $"printf 'label: gpt\\nsize=8MiB, type=U\\ntype=L\\n' | sfdisk --quiet '{raw}'"]);
        var qcow2 = dir.File("guest.qcow2");
        await ExternalTool.RunAsync("qemu-img", ["convert", "-f", "raw", "-O", "qcow2", raw, qcow2]);
        return qcow2;
    }

    [Fact]
    public async Task Import_disk_without_configuration_imports_into_an_embedded_emulator_and_reports_json()
    {
        using var dir = new TempDirectory();
        var image = await GptImageAsync(dir);
        var data = dir.File("emulator");

        var (code, output, error) = await RunAsync("import", "disk", image, "--vm-name", "cli-vm", "--json", "--emulator-data", data);

        Assert.True(code == 0, error);
        Assert.Contains("embedded emulator", error, StringComparison.Ordinal);
        var report = JsonDocument.Parse(output).RootElement;
        Assert.True(report.GetProperty("vm_created").GetBoolean());
        Assert.Equal("uefi", report.GetProperty("boot_type").GetString());
        var disk = report.GetProperty("disks")[0];
        Assert.Equal("Uefi", disk.GetProperty("boot_mode").GetString());
        Assert.True(disk.GetProperty("gpt_backup_moved").GetBoolean());
        Assert.InRange(disk.GetProperty("bytes_written").GetInt64(), 3 << 20, (3 << 20) + (64 << 10));

        // The partitions' bytes in the emulator's disk file are qemu-img's reading of the image.
        var expected = dir.File("expected.raw");
        await ExternalTool.RunAsync("qemu-img", ["convert", "-O", "raw", image, expected]);
        var file = Path.Combine(data, "disks", $"disk-{disk.GetProperty("disk_id").GetInt64()}.raw");
        var length = (48L << 20) - (1 << 20) - (33 * 512);
        await ExternalTool.RunAsync("cmp", ["--ignore-initial=1048576", $"--bytes={length}", expected, file]);
        Assert.Contains("No problems found", await ExternalTool.RunAsync("sgdisk", ["-v", file]), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Import_disk_into_a_configured_whitesky_attaches_to_an_existing_vm()
    {
        using var dir = new TempDirectory();
        await using var emulator = await WhiteskyEmulator.StartAsync();
        using var client = WhiteskyClient.Create(new WhiteskyClientOptions
        {
            BaseUrl = emulator.BaseUrl, Jwt = emulator.Jwt, CustomerId = emulator.CustomerId, CloudspaceId = emulator.CloudspaceId, Location = emulator.Location,
        });
        var boot = await client.CreateDiskAsync(new CreateDiskRequest { DiskName = "os", Description = "os", DiskSize = 1 });
        var vm = await client.CreateVirtualMachineAsync(new CreateVirtualMachineRequest { Name = "vm", Description = "vm", VCpus = 1, Memory = 512, BootDiskId = boot, StartVm = false });
        var image = await GptImageAsync(dir);

        var (code, output, error) = await RunAsync("import", "disk", image, "--vm-id", vm.ToString(System.Globalization.CultureInfo.InvariantCulture),
            "--url", emulator.BaseUrl.ToString(), "--token", emulator.Jwt, "--customer", emulator.CustomerId, "--cloudspace", emulator.CloudspaceId, "--location", emulator.Location);

        Assert.True(code == 0, error);
        Assert.DoesNotContain("embedded emulator", error, StringComparison.Ordinal);
        Assert.Contains($"Attached the disk(s) to VM {vm}.", output, StringComparison.Ordinal);
        Assert.Equal(2, (await client.ListVirtualMachineDisksAsync(vm)).Count);
        Assert.Empty(await client.ListExposedDisksAsync());
    }

    [Fact]
    public async Task A_failed_import_exits_4_and_says_what_was_cleaned_up()
    {
        using var dir = new TempDirectory();
        await using var emulator = await WhiteskyEmulator.StartAsync();
        emulator.Faults.FailExposes = true;
        var image = await GptImageAsync(dir);

        var (code, _, error) = await RunAsync("import", "disk", image, "--url", emulator.BaseUrl.ToString(), "--token", emulator.Jwt,
            "--customer", emulator.CustomerId, "--cloudspace", emulator.CloudspaceId, "--location", emulator.Location);

        Assert.Equal(4, code);
        Assert.Contains("failed while exposing the disk", error, StringComparison.Ordinal);
        Assert.Contains("deleted disk(s)", error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Recovery_boot_uploads_the_iso_and_prints_what_to_do()
    {
        using var dir = new TempDirectory();
        var iso = dir.File("rescue.iso");
        await File.WriteAllBytesAsync(iso, TestData.Random((9 << 20) + 17, seed: 6));
        var data = dir.File("emulator");

        var (code, output, error) = await RunAsync("recovery-boot", "--iso", iso, "--disk-size", "4", "--json", "--emulator-data", data);

        Assert.True(code == 0, error);
        var report = JsonDocument.Parse(output).RootElement;
        Assert.Equal("UploadedIso", report.GetProperty("medium").GetString());
        Assert.Equal(2, report.GetProperty("parts_sent").GetInt32());      // the emulator's 8 MiB parts
        Assert.Equal("RUNNING", report.GetProperty("vm_status").GetString());
        Assert.Contains("recovery-boot finish", report.GetProperty("instructions").GetString(), StringComparison.Ordinal);
        var stored = Path.Combine(data, "cdroms", $"cdrom-{report.GetProperty("cdrom_id").GetInt64()}.iso");
        Assert.Equal(await TestData.Sha256FileAsync(iso), await TestData.Sha256FileAsync(stored));
    }

    [Fact]
    public async Task Recovery_boot_needs_exactly_one_medium()
    {
        var (code, _, error) = await RunAsync("recovery-boot", "--acronis", "--veeam", "--disk-size", "4");

        Assert.Equal(1, code);
        Assert.Contains("exactly one of --iso FILE, --cdrom-id N, --acronis, --veeam", error, StringComparison.Ordinal);
    }
}
